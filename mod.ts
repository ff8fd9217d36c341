/**
 * tether: one `Conn` over every way two pieces of code talk.
 *
 * A {@linkcode Conn} is a pair of Web Streams with `read`/`write` calls and
 * `AbortSignal` deadlines, the same in an in-memory pipe in a `deno test` as
 * on a socket between two processes. Start with {@linkcode pipe},
 * {@linkcode listen} and {@linkcode connect}; cut the bytes into messages
 * with {@linkcode frames}. More in the subpaths: `@tether/tether/crypto`
 * (Noise-encrypted conns), `@tether/tether/testing` (the conformance kit),
 * `@tether/tether/transport` (building your own transport).
 *
 * @example An echo service in memory
 * ```ts
 * import { connect, listen } from "@tether/tether";
 *
 * await using listener = await listen({ transport: "memory", name: "echo" });
 * (async () => {
 *   for await (const conn of listener) {
 *     // A client may leave without reading: then the echo fails, and that conn is done.
 *     conn.readable.pipeTo(conn.writable).catch(() => conn.close());
 *   }
 * })();
 * await using conn = await connect({ transport: "memory", name: "echo" });
 * await conn.write(new TextEncoder().encode("hello"));
 * const buf = new Uint8Array(5);
 * await conn.read(buf);
 * console.log(new TextDecoder().decode(buf)); // "hello"
 * ```
 *
 * @module
 */

export {
  abortError,
  AddrInUseError,
  BacklogFullError,
  ConnClosedError,
  ConnectionRefusedError,
  ConnError,
  type ConnErrorInit,
  type ErrorContext,
  HandshakeError,
  ListenerClosedError,
  MessageTooLargeError,
  NonceExhaustedError,
  ProtocolError,
  UnsupportedAlgorithmError,
} from "./errors.ts";
export {
  type Addr,
  type CallOptions,
  type Conn,
  DEFAULT_BUFFER_SIZE,
  formatAddr,
  type NetAddr,
  type Transport,
} from "./conn.ts";
export type { Dialer, Listener } from "./listener.ts";
export {
  DEFAULT_BACKLOG,
  type MemoryConnectOptions,
  type MemoryListener,
  type MemoryListenOptions,
  pipe,
  type PipeOptions,
} from "./transports/memory.ts";
export { connect, type ConnectOptions, dialer, listen, type ListenOptions } from "./transports/mod.ts";
export type {
  SocketConn,
  TcpConnectOptions,
  TcpListener,
  TcpListenOptions,
  UnixConnectOptions,
  UnixListener,
  UnixListenOptions,
} from "./transports/socket.ts";
export {
  type PipeConnectOptions,
  type PipeListener,
  type PipeListenOptions,
  pipeSocketPath,
} from "./transports/npipe.ts";
export {
  type MessageEndpoint,
  portConn,
  type PortConnOptions,
  type WorkerConnectOptions,
  type WorkerEndpoint,
  type WorkerListenOptions,
} from "./transports/worker.ts";
export {
  DEFAULT_MAX_MESSAGE_SIZE,
  FramedConn,
  type FrameOptions,
  frames,
  MAX_MESSAGE_SIZE_LIMIT,
  type Message,
  typedFrames,
  type TypedMessage,
} from "./frame.ts";
