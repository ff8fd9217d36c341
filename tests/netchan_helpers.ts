/** Shared helpers of the netchan tests: the conns they run over, and small waits. */

import { type Conn, connect, listen, pipe } from "../mod.ts";
import { secure } from "../crypto/mod.ts";
import { Exporter, Importer, type ImporterOptions } from "../netchan/mod.ts";
import type { ExporterOptions } from "../netchan/mod.ts";

/** A way to get a connected pair: the exporter's end first. */
export interface Transport {
  readonly name: string;
  pair(): Promise<[Conn, Conn]>;
}

/** An in-memory pipe. */
export const overPipe: Transport = { name: "pipe()", pair: () => Promise.resolve(pipe()) };

/** secure() (Noise NNpsk0) over a real TCP connection on loopback. */
export const overSecureTcp: Transport = {
  name: "secure() over TCP",
  async pair() {
    await using listener = await listen({ transport: "tcp", hostname: "127.0.0.1", port: 0 });
    const psk = crypto.getRandomValues(new Uint8Array(32));
    const dialing = connect({ transport: "tcp", hostname: "127.0.0.1", port: listener.addr.port! });
    const accepted = await listener.accept();
    const [server, client] = await Promise.all([
      secure(accepted, { role: "responder", pattern: "NNpsk0", psk }),
      secure(await dialing, { role: "initiator", pattern: "NNpsk0", psk }),
    ]);
    return [server, client];
  },
};

/** The in-process transports every feature test runs over. */
export const transports: Transport[] = [overPipe, overSecureTcp];

/** An exporter serving one end of a fresh pair, and an importer on the other. */
export async function endpoints(
  transport: Transport,
  options: { exporter?: ExporterOptions; importer?: ImporterOptions } = {},
): Promise<{ exp: Exporter; imp: Importer; served: Promise<void>; close(): Promise<void> }> {
  const [a, b] = await transport.pair();
  const exp = new Exporter(options.exporter);
  const served = exp.serveConn(a);
  const imp = new Importer(b, options.importer);
  return {
    exp,
    imp,
    served,
    async close() {
      imp.close();
      exp.close();
      await Promise.all([imp.closed, exp.closed, served]);
    },
  };
}

/** Reads every value of `stream` until it ends. */
export async function collect<T>(stream: ReadableStream<T>): Promise<T[]> {
  const values: T[] = [];
  for await (const value of stream) values.push(value);
  return values;
}

/** How `p` settles, failing the test if it takes longer than `ms`. */
export function within<T>(p: Promise<T>, ms = 10_000, what = "the call"): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} hung for ${ms} ms`)), ms);
  });
  return Promise.race([p, hang]).finally(() => clearTimeout(timer));
}

/** Whether `p` is still pending after the event loop has had `ms` to settle it. */
export async function pending(p: Promise<unknown>, ms = 50): Promise<boolean> {
  let settled = false;
  p.then(() => settled = true, () => settled = true);
  await new Promise((r) => setTimeout(r, ms));
  return !settled;
}

/** The next `n` errors of an endpoint's `errors` stream. */
export async function nextErrors(errors: ReadableStream<Error>, n: number): Promise<Error[]> {
  const reader = errors.getReader();
  const got: Error[] = [];
  try {
    while (got.length < n) {
      const { value, done } = await within(reader.read(), 10_000, "waiting for errors");
      if (done) break;
      got.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  return got;
}
