/**
 * `listen()`, `connect()` and `dialer()`: one entry point for every
 * transport, chosen by the `transport` option, with the option shapes of
 * `Deno.listen` and `Deno.connect`. The socket transports are loaded when
 * first used, so the memory transport runs wherever Web Streams do.
 *
 * @example
 * ```ts
 * import { connect, listen } from "@tether/tether";
 *
 * await using listener = listen({ transport: "memory", name: "svc" });
 * await using client = await connect({ transport: "memory", name: "svc" });
 * await using _server = await listener.accept();
 * console.log(client.remoteAddr); // { transport: "memory", address: "svc" }
 * ```
 *
 * @module
 */

import type { CallOptions, Conn } from "../conn.ts";
import type { Dialer, Listener } from "../listener.ts";
import { checkOptions, describe } from "../_validate.ts";
import { ConnError } from "../errors.ts";
import {
  connectMemory,
  listenMemory,
  type MemoryConnectOptions,
  type MemoryListener,
  type MemoryListenOptions,
} from "./memory.ts";
import type {
  SocketConn,
  TcpConnectOptions,
  TcpListener,
  TcpListenOptions,
  UnixConnectOptions,
  UnixListener,
  UnixListenOptions,
} from "./socket.ts";
import type { PipeConnectOptions, PipeListener, PipeListenOptions } from "./npipe.ts";
import {
  connectWorker,
  listenWorker,
  type WorkerConnectOptions,
  type WorkerListenOptions,
} from "./worker.ts";

/**
 * The options of any {@linkcode listen}.
 *
 * @example
 * ```ts
 * import { listen, type ListenOptions } from "@tether/tether";
 *
 * const options: ListenOptions = { transport: "tcp", hostname: "127.0.0.1", port: 0 };
 * await using _listener = await listen(options);
 * ```
 */
export type ListenOptions =
  | MemoryListenOptions
  | UnixListenOptions
  | TcpListenOptions
  | PipeListenOptions
  | WorkerListenOptions;

/**
 * The options of any {@linkcode connect}.
 *
 * @example
 * ```ts
 * import { connect, type ConnectOptions } from "@tether/tether";
 *
 * const options: ConnectOptions = { transport: "memory", name: "nowhere" };
 * await connect(options).catch((err) => console.log(err.name)); // "ConnectionRefusedError"
 * ```
 */
export type ConnectOptions =
  | MemoryConnectOptions
  | UnixConnectOptions
  | TcpConnectOptions
  | PipeConnectOptions
  | WorkerConnectOptions;

/**
 * Listens in memory: by `name` in this isolate, or privately (no name),
 * reached only through the listener's own `dialer()`.
 *
 * @example
 * ```ts
 * import { listen } from "@tether/tether";
 *
 * using listener = listen({ transport: "memory", name: "api", backlog: 8 });
 * console.log(listener.addr); // { transport: "memory", address: "api" }
 * ```
 */
export function listen(options: MemoryListenOptions): MemoryListener;
/**
 * Listens on a Unix socket, whose file has mode `0o600` unless `mode` says
 * otherwise.
 *
 * @example
 * ```ts
 * import { listen } from "@tether/tether";
 *
 * const dir = await Deno.makeTempDir();
 * await using listener = await listen({ transport: "unix", path: `${dir}/app.sock` });
 * console.log(listener.addr.address.endsWith("/app.sock")); // true
 * ```
 */
export function listen(options: UnixListenOptions): Promise<UnixListener>;
/**
 * Listens on a TCP port; `port: 0` picks a free one, reported in
 * `addr.port`.
 *
 * @example
 * ```ts
 * import { listen } from "@tether/tether";
 *
 * await using listener = await listen({ transport: "tcp", hostname: "127.0.0.1", port: 0 });
 * console.log(listener.addr.hostname, listener.addr.port > 0); // "127.0.0.1" true
 * ```
 */
export function listen(options: TcpListenOptions): Promise<TcpListener>;
/**
 * Listens on a named pipe, `\\.\pipe\NAME`.
 *
 * @example
 * ```ts
 * import { listen } from "@tether/tether";
 *
 * await using listener = await listen({ transport: "pipe", path: "\\\\.\\pipe\\tether-doc-overload" });
 * console.log(listener.addr.transport); // "pipe"
 * ```
 */
export function listen(options: PipeListenOptions): Promise<PipeListener>;
/**
 * Listens for worker conns: inside a worker, from its parent (or from the
 * `worker` named); in the main isolate, from the `Worker` named.
 *
 * @example Inside a worker
 * ```ts ignore
 * import { listen } from "@tether/tether";
 *
 * using listener = listen({ transport: "worker", name: "echo" });
 * for await (const conn of listener) conn.readable.pipeTo(conn.writable).catch(() => conn.close());
 * ```
 *
 * @example In the main isolate, for connects from one worker
 * ```ts
 * import { listen } from "@tether/tether";
 *
 * const worker = new Worker(`data:text/javascript,`, { type: "module" });
 * using listener = listen({ transport: "worker", worker, name: "cache" });
 * console.log(listener.addr); // { transport: "worker", address: "cache" }
 * worker.terminate();
 * ```
 */
export function listen(options: WorkerListenOptions): Listener;
/**
 * Listens on whichever transport the options name.
 *
 * @example
 * ```ts
 * import { listen, type ListenOptions } from "@tether/tether";
 *
 * const options: ListenOptions = { transport: "memory" };
 * await using listener = await listen(options);
 * console.log(listener.addr.transport); // "memory"
 * ```
 */
export function listen(options: ListenOptions): Listener | Promise<Listener>;
export function listen(options: ListenOptions): Listener | Promise<Listener> {
  const transport = transportOf(options, "listen");
  switch (transport) {
    case "memory":
      return listenMemory(options as MemoryListenOptions);
    case "unix":
      return withSockets("unix", "listen", (m) => m.listenUnix(options as UnixListenOptions));
    case "tcp":
      return withSockets("tcp", "listen", (m) => m.listenTcp(options as TcpListenOptions));
    case "pipe":
      return denoOnly("pipe", "listen", () => import("./npipe.ts")).then((m) =>
        m.listenPipe(options as PipeListenOptions)
      );
    case "worker":
      return listenWorker(options as WorkerListenOptions);
  }
  throw unknownTransport(transport);
}

/**
 * Connects to a memory listener by name. It completes as soon as the
 * listener has room in its backlog, before anyone accepts.
 *
 * @example
 * ```ts
 * import { connect, listen } from "@tether/tether";
 *
 * using listener = listen({ transport: "memory", name: "cache" });
 * using conn = await connect({ transport: "memory", name: "cache", signal: AbortSignal.timeout(1000) });
 * using _server = await listener.accept();
 * console.log(conn.localAddr.transport); // "memory"
 * ```
 */
export function connect(options: MemoryConnectOptions): Promise<Conn>;
/**
 * Connects to a Unix socket.
 *
 * @example
 * ```ts
 * import { connect, ConnectionRefusedError } from "@tether/tether";
 *
 * const err = await connect({ transport: "unix", path: "/nonexistent/app.sock" }).catch((e) => e);
 * console.log(err instanceof ConnectionRefusedError); // true
 * ```
 */
export function connect(options: UnixConnectOptions): Promise<SocketConn>;
/**
 * Connects to a TCP port.
 *
 * @example
 * ```ts
 * import { connect, listen } from "@tether/tether";
 *
 * await using listener = await listen({ transport: "tcp", hostname: "127.0.0.1", port: 0 });
 * const { hostname, port } = listener.addr;
 * await using conn = await connect({ transport: "tcp", hostname, port, signal: AbortSignal.timeout(1000) });
 * conn.setNoDelay(true);
 * ```
 */
export function connect(options: TcpConnectOptions): Promise<SocketConn>;
/**
 * Connects to a named pipe, waiting for it within the signal.
 *
 * @example
 * ```ts
 * import { connect } from "@tether/tether";
 *
 * const path = "\\\\.\\pipe\\nobody-listens-here";
 * const err = await connect({ transport: "pipe", path, signal: AbortSignal.timeout(50) }).catch((e) => e);
 * console.log(err.code, err.timeout); // "ETIMEDOUT" true
 * ```
 */
export function connect(options: PipeConnectOptions): Promise<Conn>;
/**
 * Connects to a worker listener: `worker` is the `Worker` it runs in,
 * `"parent"` from inside a worker, or a `MessagePort` the other side
 * listens on. A side that has not started listening yet is waited for,
 * within the signal; once it has, a name nobody listens on is refused.
 *
 * @example Both sides in one isolate, over a MessageChannel
 * ```ts
 * import { connect, listen } from "@tether/tether";
 *
 * // Typically `worker` is a Worker on one side and "parent" on the other.
 * const { port1, port2 } = new MessageChannel();
 * using listener = listen({ transport: "worker", worker: port1, name: "echo" });
 * await using conn = await connect({ transport: "worker", worker: port2, name: "echo" });
 * await using server = await listener.accept();
 * await conn.write(new TextEncoder().encode("ping"));
 * console.log(await server.read(new Uint8Array(4))); // 4
 * port1.close();
 * port2.close();
 * ```
 */
export function connect(options: WorkerConnectOptions): Promise<Conn>;
/**
 * Connects over whichever transport the options name.
 *
 * @example
 * ```ts
 * import { connect, type ConnectOptions } from "@tether/tether";
 *
 * const options: ConnectOptions = { transport: "memory", name: "absent" };
 * console.log(await connect(options).catch((e) => e.code)); // "ECONNREFUSED"
 * ```
 */
export function connect(options: ConnectOptions): Promise<Conn>;
export function connect(options: ConnectOptions): Promise<Conn> {
  try {
    const transport = transportOf(options, "connect");
    switch (transport) {
      case "memory":
        return connectMemory(options as MemoryConnectOptions);
      case "unix":
        return withSockets("unix", "connect", (m) => m.connectUnix(options as UnixConnectOptions));
      case "tcp":
        return withSockets("tcp", "connect", (m) => m.connectTcp(options as TcpConnectOptions));
      case "pipe":
        return denoOnly("pipe", "connect", () => import("./npipe.ts")).then((m) =>
          m.connectPipe(options as PipeConnectOptions)
        );
      case "worker":
        return connectWorker(options as WorkerConnectOptions);
    }
    throw unknownTransport(transport);
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * A {@linkcode Dialer} for `options`: each `dial()` connects anew, with the
 * dial's own signal (the options' signal, if any, is left out). Hand it to
 * code that should not know where its server is.
 *
 * @example
 * ```ts
 * import { dialer, listen } from "@tether/tether";
 *
 * await using listener = await listen({ transport: "tcp", hostname: "127.0.0.1", port: 0 });
 * const toServer = dialer({ transport: "tcp", hostname: "127.0.0.1", port: listener.addr.port });
 * await using conn = await toServer.dial({ signal: AbortSignal.timeout(1000) });
 * await using _server = await listener.accept();
 * console.log(conn.remoteAddr.port === listener.addr.port); // true
 * ```
 */
export function dialer(options: ConnectOptions): Dialer {
  const transport = transportOf(options, "dialer");
  if (!KNOWN.includes(transport as string)) throw unknownTransport(transport);
  const { signal: _ignored, ...fixed } = options;
  return { dial: (call?: CallOptions) => connect({ ...fixed, signal: call?.signal } as ConnectOptions) };
}

const KNOWN = ["memory", "unix", "tcp", "pipe", "worker"];

type SocketModule = typeof import("./socket.ts");
let sockets: SocketModule | undefined;

/**
 * Runs `use` with the socket transports, loading them on first use; once
 * loaded, without a detour through `import()` on every connect.
 */
function withSockets<T>(transport: string, op: string, use: (m: SocketModule) => Promise<T>): Promise<T> {
  if (sockets !== undefined) return use(sockets);
  return denoOnly(transport, op, () => import("./socket.ts")).then((m) => use(sockets = m));
}

/**
 * Loads a socket transport, which runs on Deno's sockets: on another runtime
 * it is a `ConnError` with code `ENOTSUP` that says so, rather than a
 * `ReferenceError` about `Deno` from deep inside.
 */
function denoOnly<T>(transport: string, op: string, load: () => Promise<T>): Promise<T> {
  if (typeof (globalThis as { Deno?: unknown }).Deno === "object") return load();
  return Promise.reject(
    new ConnError({
      code: "ENOTSUP",
      op,
      summary: `the ${transport} transport is not supported on this runtime`,
      detail: "it runs on Deno's sockets; memory and worker conns run anywhere",
    }),
  );
}

function transportOf(options: unknown, fn: string): unknown {
  checkOptions(options, fn);
  return (options as { transport?: unknown }).transport;
}

function unknownTransport(transport: unknown): TypeError {
  return new TypeError(
    `unknown transport ${describe(transport)}: expected "memory", "unix", "tcp", "pipe" or "worker"`,
  );
}
