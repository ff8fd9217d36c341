/**
 * tether: one `Conn` over every way two pieces of code talk.
 *
 * A {@linkcode Conn} is a pair of Web Streams with `read`/`write` calls and
 * `AbortSignal` deadlines, the same in an in-memory pipe in a `deno test` as
 * on a socket between two processes. Start with {@linkcode pipe},
 * {@linkcode listen} and {@linkcode connect}.
 *
 * @example An echo service in memory
 * ```ts
 * import { connect, listen } from "@tether/tether";
 *
 * await using listener = listen({ transport: "memory", name: "echo" });
 * (async () => {
 *   for await (const conn of listener) conn.readable.pipeTo(conn.writable);
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

export * from "./errors.ts";
export {
  type Addr,
  badSignal,
  ByteQueue,
  type CallOptions,
  checkBufferSize,
  type Conn,
  DEFAULT_BUFFER_SIZE,
  formatAddr,
  QueueConn,
  type QueueConnInit,
  type Transport,
} from "./conn.ts";
export { acceptLoop, AcceptQueue, type Dialer, type Listener } from "./listener.ts";
export {
  connectMemory,
  DEFAULT_BACKLOG,
  listenMemory,
  type MemoryConnectOptions,
  type MemoryListener,
  type MemoryListenOptions,
  pipe,
  type PipeOptions,
} from "./transports/memory.ts";
export { connect, type ConnectOptions, listen, type ListenOptions } from "./transports/mod.ts";
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
export {
  connectTcp,
  connectUnix,
  listenTcp,
  listenUnix,
  type TcpConnectOptions,
  type TcpListenOptions,
  type UnixConnectOptions,
  type UnixListenOptions,
} from "./transports/socket.ts";
export { SocketConn, type SocketConnInit } from "./transports/socket_conn.ts";
export { type Admit, SocketListener } from "./transports/socket_listener.ts";
export {
  connectPipe,
  listenPipe,
  parsePipeAddress,
  type PipeConnectOptions,
  type PipeListenOptions,
  pipeSocketPath,
} from "./transports/npipe.ts";
