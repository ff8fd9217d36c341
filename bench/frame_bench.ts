/**
 * Framed message rate against the raw Conn moving the same bytes.
 *
 * Each group moves 1 MiB from one end of a conn to the other as messages of
 * one size: the baseline writes them raw (`conn.write` of each message, the
 * reader reading into a 64 KiB buffer until all bytes are in); the framed
 * case sends and receives them as whole messages through `frames()`. Deno
 * prints the framed case as a multiple of the baseline.
 */

import { type Conn, connect, frames, listen, pipe } from "../mod.ts";

const TOTAL = 1024 * 1024;
const SIZES = [64, 1024, 64 * 1024];

async function rawTransfer(a: Conn, b: Conn, message: Uint8Array, count: number): Promise<void> {
  const writing = (async () => {
    for (let i = 0; i < count; i++) await a.write(message);
  })();
  const buffer = new Uint8Array(64 * 1024);
  for (let left = count * message.length; left > 0;) left -= (await b.read(buffer))!;
  await writing;
}

async function framedTransfer(a: Conn, b: Conn, message: Uint8Array, count: number): Promise<void> {
  const sender = frames(a), receiver = frames(b);
  const sending = (async () => {
    for (let i = 0; i < count; i++) await sender.send(message);
  })();
  for (let i = 0; i < count; i++) await receiver.receive();
  await sending;
}

/**
 * {@linkcode framedTransfer} with a deadline on every send: big bodies then
 * go out staged through the sender's own buffer, so an abort can free the
 * caller's buffer at once.
 */
async function framedTransferWithSignal(a: Conn, b: Conn, message: Uint8Array, count: number): Promise<void> {
  const sender = frames(a), receiver = frames(b);
  const signal = new AbortController().signal;
  const sending = (async () => {
    for (let i = 0; i < count; i++) await sender.send(message, { signal });
  })();
  for (let i = 0; i < count; i++) await receiver.receive();
  await sending;
}

function label(size: number): string {
  return size >= 1024 ? `${size / 1024} KiB` : `${size} B`;
}

const socketDir = Deno.makeTempDirSync({ prefix: "tether-frame-bench-" });
const socketListener = await listen({ transport: "unix", path: `${socketDir}/bench.sock` });
globalThis.addEventListener("unload", () => {
  socketListener.close();
  Deno.removeSync(socketDir, { recursive: true });
});

/** The conns the benches run over: a fresh connected pair each time. */
const transports: { name: string; suffix: string; pair: () => Promise<[Conn, Conn]> | [Conn, Conn] }[] = [
  { name: "pipe", suffix: "", pair: () => pipe() },
  {
    name: "unix socket",
    suffix: " over unix",
    pair: () =>
      Promise.all([
        connect({ transport: "unix", path: socketListener.addr.address }),
        socketListener.accept(),
      ]),
  },
];

/** Times one transfer on a fresh pair, leaving its setup out of the measure. */
function timed(
  pair: () => Promise<[Conn, Conn]> | [Conn, Conn],
  transfer: typeof rawTransfer,
  message: Uint8Array,
  count: number,
) {
  return async (b: Deno.BenchContext) => {
    const [x, y] = await pair();
    b.start();
    await transfer(x, y, message, count);
    b.end();
    x.close();
    y.close();
  };
}

for (const { name, suffix, pair } of transports) {
  for (const size of SIZES) {
    const message = new Uint8Array(size).fill(7);
    const count = TOTAL / size;
    const group = `${name}, ${label(size)} messages`;
    Deno.bench(
      `raw conn.write of ${label(size)}${suffix} (1 MiB)`,
      { group, baseline: true },
      timed(pair, rawTransfer, message, count),
    );
    Deno.bench(
      `frames() send/receive of ${label(size)}${suffix} (1 MiB)`,
      { group },
      timed(pair, framedTransfer, message, count),
    );
    Deno.bench(
      `frames() send with a signal/receive of ${label(size)}${suffix} (1 MiB)`,
      { group },
      timed(pair, framedTransferWithSignal, message, count),
    );
  }
}
