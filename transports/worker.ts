/**
 * The worker transport: a {@linkcode Conn} over a `MessagePort`, between
 * workers or isolates, with the same rules as every other conn (deadlines,
 * backpressure, half-close, close the other side sees), and listeners a
 * worker serves like a socket server.
 *
 * - {@linkcode portConn} wraps one end of a `MessageChannel`; wrap the other
 *   end the same way, in this isolate or another.
 * - `listen({ transport: "worker", name })` inside a worker serves conns to
 *   its parent; `connect({ transport: "worker", worker, name })` from the
 *   parent reaches it. The other way round, the parent listens on a
 *   `Worker` and the worker connects to `"parent"`.
 *
 * Only web platform APIs: it runs in Deno, Node and browsers alike. See
 * [docs/worker.md](https://jsr.io/@tether/tether/doc/docs/worker.md).
 *
 * @example A conn over a MessageChannel
 * ```ts
 * import { portConn } from "@tether/tether";
 *
 * const { port1, port2 } = new MessageChannel();
 * await using a = portConn(port1);
 * await using b = portConn(port2); // typically in another worker
 * await a.write(new TextEncoder().encode("hi"));
 * await a.closeWrite();
 * console.log(await new Response(b.readable).text()); // "hi"
 * ```
 *
 * @module
 */

import type { CallOptions, Conn } from "../conn.ts";
import type { Listener } from "../listener.ts";
import { checkOptions, checkWhole, describe } from "../_validate.ts";
import { DEFAULT_BACKLOG } from "./memory.ts";
import { inWorker } from "./_isolate.ts";
import { PortConn, portWindow } from "./_port_conn.ts";
import { linkFor, type WorkerListenerImpl } from "./_worker_link.ts";

/**
 * Anything that posts messages to another isolate and hears back from it:
 * a `Worker`, a `MessagePort`, a worker's global scope. Tether's own
 * messages on it are objects with a `tether` key; an application's own
 * `onmessage` should leave those alone.
 *
 * @example
 * ```ts
 * import type { MessageEndpoint } from "@tether/tether";
 *
 * const { port1 } = new MessageChannel();
 * const endpoint: MessageEndpoint = port1;
 * port1.close();
 * console.log(typeof endpoint.postMessage); // "function"
 * ```
 */
export interface MessageEndpoint {
  /** Posts `message`, transferring `transfer`. */
  postMessage(message: unknown, transfer: Transferable[]): void;
  /** Listens for the other side's messages. */
  addEventListener(type: "message", listener: (event: MessageEvent) => void): void;
}

/**
 * Options of {@linkcode portConn}.
 *
 * @example
 * ```ts
 * import { portConn, type PortConnOptions } from "@tether/tether";
 *
 * const options: PortConnOptions = { bufferSize: 256 * 1024 };
 * const { port1, port2 } = new MessageChannel();
 * // Close both ends: a conn closed before its peer attached keeps its port open (and the process
 * // alive) until the other end attaches or closes, so that what it sent is not lost.
 * await using _a = portConn(port1, options);
 * await using _b = portConn(port2, options);
 * ```
 */
export interface PortConnOptions {
  /**
   * Bytes queued to send before a writer waits, and the bytes this end lets
   * the peer send before it reads them (its receive window, granted to the
   * peer as credit). Given, the window is fixed. Left out, both start at
   * 64 KiB, and the receive window grows up to 1 MiB while the reader keeps
   * up (nothing queued each time it grants credit), so that enough is in
   * flight to cover the round trip between threads; the send queue grows
   * with the credit the peer grants, so a peer that does not read still
   * stops the writer at 64 KiB queued.
   */
  bufferSize?: number;
}

/**
 * Where a worker conn goes: a `Worker` (from the isolate that started it),
 * `"parent"` (from inside a worker, to the isolate that started it), or a
 * `MessagePort` whose other end some isolate uses the same way.
 *
 * @example
 * ```ts
 * import type { WorkerEndpoint } from "@tether/tether";
 *
 * const toParent: WorkerEndpoint = "parent";
 * console.log(toParent);
 * ```
 */
export type WorkerEndpoint = MessageEndpoint | "parent";

/**
 * Options of a worker {@linkcode listenWorker | listen}.
 *
 * @example
 * ```ts
 * import type { WorkerListenOptions } from "@tether/tether";
 *
 * // Inside a worker: conns from the parent to "jobs".
 * const options: WorkerListenOptions = { transport: "worker", name: "jobs", backlog: 8 };
 * console.log(options.name);
 * ```
 */
export interface WorkerListenOptions {
  /** The worker transport. */
  transport: "worker";
  /** The name connects ask for. */
  name: string;
  /**
   * Whose connects to take: the `Worker` they come from, or `"parent"`,
   * the default inside a worker. The main isolate must say which worker.
   */
  worker?: WorkerEndpoint;
  /** How many connects may wait unaccepted; default 32. */
  backlog?: number;
  /** Bytes queued per direction of each conn: see {@linkcode PortConnOptions.bufferSize}. */
  bufferSize?: number;
}

/**
 * Options of a worker {@linkcode connectWorker | connect}.
 *
 * @example
 * ```ts
 * import type { WorkerConnectOptions } from "@tether/tether";
 *
 * // Inside a worker: reach a listener its parent runs.
 * const options: WorkerConnectOptions = { transport: "worker", worker: "parent", name: "cache" };
 * console.log(options.worker);
 * ```
 */
export interface WorkerConnectOptions extends CallOptions {
  /** The worker transport. */
  transport: "worker";
  /** The other side: a `Worker`, `"parent"` or a `MessagePort`. */
  worker: WorkerEndpoint;
  /** The name the other side listens on. */
  name: string;
  /** Bytes queued per direction: see {@linkcode PortConnOptions.bufferSize}. */
  bufferSize?: number;
}

/**
 * Makes a {@linkcode Conn} over one end of a `MessageChannel`. Wrap the
 * other end with `portConn` too, in this isolate or in another one (post
 * the port there first). Buffers written to `writable` are transferred,
 * not copied; `write(p)` copies `p`. A conn used before the other end is
 * wrapped simply waits for it; should the other end's worker be terminated,
 * the conn ends with `ConnClosedError`.
 *
 * @example Across a worker
 * ```ts
 * import { portConn } from "@tether/tether";
 *
 * const code = `self.onmessage = async (e) => {
 *   const { portConn } = await import(${JSON.stringify(import.meta.resolve("@tether/tether"))});
 *   const conn = portConn(e.data);
 *   await conn.readable.pipeTo(conn.writable); // echo
 * };`;
 * const worker = new Worker(`data:text/javascript,${encodeURIComponent(code)}`, { type: "module" });
 * const { port1, port2 } = new MessageChannel();
 * worker.postMessage(port2, [port2]);
 * const conn = portConn(port1);
 * await conn.write(new TextEncoder().encode("echo?"));
 * await conn.closeWrite();
 * console.log(await new Response(conn.readable).text()); // "echo?"
 * await conn.closed;
 * worker.terminate();
 * ```
 */
export function portConn(port: MessagePort, options: PortConnOptions = {}): Conn {
  checkOptions(options, "portConn");
  checkPort(port, "port");
  const addr = { transport: "worker", address: "port" };
  return new PortConn({
    port,
    ...portWindow(options.bufferSize),
    localAddr: addr,
    remoteAddr: addr,
  });
}

/**
 * Listens for worker conns named `name`, from the worker (or parent) that
 * `options.worker` names: `"parent"` by default inside a worker. A second
 * listener on the same name and endpoint gets `AddrInUseError`; a connect
 * to a name nobody listens on gets `ConnectionRefusedError`; more than
 * `backlog` connects waiting unaccepted get `BacklogFullError`.
 *
 * @example Serving the parent, from inside a worker
 * ```ts ignore
 * import { listen } from "@tether/tether";
 *
 * using listener = listen({ transport: "worker", name: "echo" });
 * for await (const conn of listener) conn.readable.pipeTo(conn.writable).catch(() => conn.close());
 * ```
 */
export function listenWorker(options: WorkerListenOptions): Listener {
  checkOptions(options, "listen");
  const { name, backlog = DEFAULT_BACKLOG } = options;
  checkName(name);
  checkWhole(backlog, "backlog", 0, Number.MAX_SAFE_INTEGER);
  const window = portWindow(options.bufferSize);
  const endpoint = options.worker ?? (inWorker() ? "parent" : undefined);
  if (endpoint === undefined) {
    throw new TypeError(
      'listen({ transport: "worker" }) in the main isolate needs `worker`: the Worker whose connects to take',
    );
  }
  return linkFor(resolveEndpoint(endpoint, "worker")).listen(name, backlog, window) as WorkerListenerImpl;
}

/**
 * Connects to the worker listener `name` on the other side of
 * `options.worker`. The connect completes once the listener has room in its
 * backlog, before anyone accepts. A worker that has not started listening
 * yet (its script still loading) is waited for, within the signal; once it
 * has, a name nobody listens on is refused at once.
 *
 * @example
 * ```ts ignore
 * import { connect } from "@tether/tether";
 *
 * const worker = new Worker(new URL("./echo_worker.ts", import.meta.url), { type: "module" });
 * await using conn = await connect({ transport: "worker", worker, name: "echo", signal: AbortSignal.timeout(5000) });
 * ```
 */
export function connectWorker(options: WorkerConnectOptions): Promise<Conn> {
  try {
    checkOptions(options, "connect");
    checkName(options.name);
    const endpoint = resolveEndpoint(options.worker, "worker");
    const window = portWindow(options.bufferSize);
    return linkFor(endpoint).connect(options.name, window, options);
  } catch (err) {
    return Promise.reject(err);
  }
}

function resolveEndpoint(endpoint: unknown, what: string): MessageEndpoint {
  if (endpoint === "parent") {
    if (!inWorker()) {
      throw new TypeError(`${what}: "parent" only means something inside a worker; pass the Worker instead`);
    }
    return globalThis as unknown as MessageEndpoint;
  }
  const e = endpoint as Partial<MessageEndpoint> | null;
  if (
    e === null || typeof e !== "object" || typeof e.postMessage !== "function" ||
    typeof e.addEventListener !== "function"
  ) {
    throw new TypeError(`${what} must be a Worker, a MessagePort or "parent", got ${describe(endpoint)}`);
  }
  return e as MessageEndpoint;
}

function checkPort(port: unknown, what: string): asserts port is MessagePort {
  const p = port as Partial<MessagePort> | null;
  if (
    p === null || typeof p !== "object" || typeof p.postMessage !== "function" ||
    typeof p.close !== "function" || typeof p.addEventListener !== "function"
  ) {
    throw new TypeError(`${what} must be a MessagePort, got ${describe(port)}`);
  }
}

function checkName(name: unknown): asserts name is string {
  if (typeof name !== "string") throw new TypeError(`name must be a string, got ${describe(name)}`);
  if (name.length === 0) throw new TypeError("name must not be empty");
}
