/**
 * The checks that prove the web-only layers on a runtime other than Deno:
 * Node and a real browser run this suite from a bundle (see
 * `tests/runtimes_test.ts`), and so does Deno itself, as the reference.
 *
 * A layer is one module exporting a {@linkcode Layer} (its checks, and the
 * commands its checks send workers), listed in `layers.ts`: adding a
 * layer's checks is one module and one line there. Nothing here touches `Deno` or `node:*`: what differs between
 * runtimes (how a worker is started) comes from the {@linkcode Host}.
 *
 * @module
 */

import type { MessageEndpoint } from "../../mod.ts";
import type { CheckResult } from "../../testing/mod.ts";

/** A worker running `peer.ts`, started by the host. */
export interface RemoteWorker {
  /** Sends the worker a command of `peer.ts`, transferring `transfer`. */
  send(command: Record<string, unknown>, transfer?: Transferable[]): void;
  /** The next message of the worker's own (tether's link messages left out). */
  next(): Promise<Record<string, unknown>>;
  /**
   * What `connect({ transport: "worker", worker })` goes through to reach
   * the worker's listeners: the `Worker` itself where it is a
   * `MessageEndpoint` (Deno, browsers), else a port the worker listens on
   * (Node, whose `Worker` is an `EventEmitter`); `linkCommand()` adds it to
   * a `listen` command.
   */
  readonly endpoint: MessageEndpoint;
  /** The fields a `listen-echo` command needs on this runtime, and what they transfer. */
  linkCommand(): { fields: Record<string, unknown>; transfer: Transferable[] };
  /** Ends the worker, as `worker.terminate()`. */
  terminate(): Promise<void>;
}

/** What the runtime provides. */
export interface Host {
  /** The runtime and its version, as reported: "node v20.20.2". */
  readonly runtime: string;
  /** Starts a real worker running `peer.ts`. */
  startWorker(): Promise<RemoteWorker>;
}

/** One check's outcome, as the suite reports it. */
export interface Row {
  /** The layer: "conn", "frames", "secure", "worker". */
  layer: string;
  /** The check, unique within the layer. */
  id: string;
  outcome: "passed" | "failed" | "skipped";
  /** Why it failed. */
  message?: string;
  /** What a passing check found out about the runtime ("ChaChaPoly: unsupported"). */
  note?: string;
  ms: number;
}

/**
 * What a worker does for one command of a layer's: `message` is the
 * command, `reply` posts a message back to the host.
 */
export type PeerCommand = (message: Record<string, unknown>, reply: (message: unknown) => void) => unknown;

/** A layer's checks, and what workers do for them. */
export interface Layer {
  readonly name: string;
  /** Runs every check, reporting each row as it is done. */
  run(host: Host, report: (row: Row) => void): Promise<void>;
  /** The commands this layer's checks send workers (`peer.ts` runs them), by name. */
  readonly peer?: Readonly<Record<string, PeerCommand>>;
}

/** A check of a layer of simple checks: may return a note. */
export interface SimpleCheck {
  readonly id: string;
  run(host: Host): Promise<string | void>;
}

/** How long one simple check may take before it fails. */
const CHECK_TIMEOUT_MS = 60_000;

/** A layer made of simple checks, each run within a timeout. */
export function simpleLayer(
  name: string,
  checks: readonly SimpleCheck[],
  peer?: Record<string, PeerCommand>,
): Layer {
  return {
    name,
    peer,
    async run(host, report) {
      for (const check of checks) {
        const start = performance.now();
        let timer: ReturnType<typeof setTimeout> | undefined;
        try {
          const note = await Promise.race([
            check.run(host),
            new Promise<never>((_, reject) => {
              timer = setTimeout(
                () => reject(new Error(`still running after ${CHECK_TIMEOUT_MS} ms`)),
                CHECK_TIMEOUT_MS,
              );
            }),
          ]);
          report({
            layer: name,
            id: check.id,
            outcome: "passed",
            note: note || undefined,
            ms: elapsed(start),
          });
        } catch (err) {
          report({
            layer: name,
            id: check.id,
            outcome: "failed",
            message: describeError(err),
            ms: elapsed(start),
          });
        } finally {
          clearTimeout(timer);
        }
      }
    },
  };
}

/** Runs every layer; a layer that throws is one failed row, and the rest still run. */
export async function runSuite(
  host: Host,
  layers: readonly Layer[],
  report: (row: Row) => void,
): Promise<void> {
  for (const layer of layers) {
    const start = performance.now();
    try {
      await layer.run(host, report);
    } catch (err) {
      report({
        layer: layer.name,
        id: "(layer)",
        outcome: "failed",
        message: describeError(err),
        ms: elapsed(start),
      });
    }
  }
}

export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? ` (cause: ${err.cause.name}: ${err.cause.message})` : "";
  return `${err.name}: ${err.message}${cause}`;
}

function elapsed(start: number): number {
  return Math.round(performance.now() - start);
}

/** Fails with `message` unless `condition` holds. */
export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** Reads to EOF. */
export async function readAll(conn: { readable: ReadableStream<Uint8Array> }): Promise<Uint8Array> {
  return new Uint8Array(await new Response(conn.readable).arrayBuffer());
}

/** `n` bytes of a pattern that no reordering or loss leaves intact. */
export function pattern(n: number): Uint8Array {
  return new Uint8Array(n).map((_, i) => (i * 131 + (i >> 8)) & 0xff);
}

/** Whether two byte arrays are equal. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Echoes `conn` until the peer half-closes; closes it if the echo fails. */
export function echo(
  conn: { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array>; close(): void },
): void {
  conn.readable.pipeTo(conn.writable).catch(() => conn.close());
}

/** Runs `use` with a fresh worker, terminated afterwards whatever happens. */
export async function withWorker<T>(host: Host, use: (worker: RemoteWorker) => Promise<T>): Promise<T> {
  const worker = await host.startWorker();
  try {
    return await use(worker);
  } finally {
    await worker.terminate();
  }
}

/** Sends `worker` the command `cmd` with the far end of a fresh channel; returns the near end. */
export function peerPort(worker: RemoteWorker, cmd: string): MessagePort {
  const { port1, port2 } = new MessageChannel();
  worker.send({ cmd, port: port2 }, [port2]);
  return port1;
}

/** Reports each result of a kit run (`runConnChecks`...) as a row `subject/id` of `layer`. */
export function kitRows(
  layer: string,
  subject: string,
  report: (row: Row) => void,
): (r: CheckResult) => void {
  return (r) =>
    report({
      layer,
      id: `${subject}/${r.id}`,
      outcome: r.outcome,
      message: r.error ? describeError(r.error) : undefined,
      ms: Math.round(r.ms),
    });
}
