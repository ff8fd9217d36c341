/** Helpers shared by the worker-transport tests: a real worker to talk to. */
import { type Conn, portConn, type PortConnOptions } from "../mod.ts";
export { within } from "./socket_helpers.ts";

/** A running `tests/fixtures/worker_peer.ts`. */
export interface Peer extends AsyncDisposable {
  readonly worker: Worker;
  /** Posts a command (see the fixture), transferring `transfer`. */
  send(command: Record<string, unknown>, transfer?: Transferable[]): void;
  /** The next message of the worker's own (not tether's link messages). */
  next(): Promise<Record<string, unknown>>;
  /** A conn to a fresh `portConn` in the worker, which `cmd` sets up ("echo", "secure-echo"...). */
  conn(cmd: string, options?: PortConnOptions): Conn;
  terminate(): void;
}

/** Starts the fixture worker; dispose terminates it. */
export function startPeer(): Peer {
  const worker = new Worker(new URL("./fixtures/worker_peer.ts", import.meta.url), { type: "module" });
  const inbox: Record<string, unknown>[] = [];
  const waiting: ((m: Record<string, unknown>) => void)[] = [];
  worker.addEventListener("message", (event) => {
    const data = event.data;
    if (data === null || typeof data !== "object" || "tether" in data) return;
    const taker = waiting.shift();
    if (taker) taker(data);
    else inbox.push(data);
  });
  let terminated = false;
  const terminate = () => {
    if (terminated) return;
    terminated = true;
    worker.terminate();
  };
  return {
    worker,
    send: (command, transfer = []) => worker.postMessage(command, transfer),
    next: () => inbox.length > 0 ? Promise.resolve(inbox.shift()!) : new Promise((r) => waiting.push(r)),
    conn(cmd, options) {
      const { port1, port2 } = new MessageChannel();
      worker.postMessage({ cmd, port: port2 }, [port2]);
      return portConn(port1, options);
    },
    terminate,
    [Symbol.asyncDispose]: () => Promise.resolve(terminate()),
  };
}

/** Both ends of a fresh MessageChannel as conns in this isolate. */
export function localPair(options?: PortConnOptions): [Conn, Conn] {
  const { port1, port2 } = new MessageChannel();
  return [portConn(port1, options), portConn(port2, options)];
}

/** Reads to EOF. */
export async function readAll(conn: Conn): Promise<Uint8Array> {
  return new Uint8Array(await new Response(conn.readable).arrayBuffer());
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
