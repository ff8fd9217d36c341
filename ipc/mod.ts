/**
 * Local ipc: a server under a name and clients that find it by that name,
 * exchanging typed messages, encrypted by default, reconnecting by
 * themselves: golang-ipc's model, done right, on tether's own layers (Unix
 * sockets, named pipes or TCP; `typedFrames()`; `secure()`). With
 * `protocol: "golang-ipc"` it speaks golang-ipc's own wire protocol, to
 * serve or join Go programs that use it.
 *
 * See [docs/ipc.md](https://jsr.io/@tether/tether/doc/docs/ipc.md) for the
 * whole story: statuses, reconnects, what happens to messages in flight,
 * limits, and the comparison with golang-ipc.
 *
 * @example A server and a client
 * ```ts
 * import { connectClient, serve } from "@tether/tether/ipc";
 *
 * const name = `doc-${crypto.randomUUID()}`;
 * await using server = await serve({ name });
 * await using client = connectClient({ name });
 * await client.write(1, new TextEncoder().encode("hello"));
 * const { client: sender, message } = await server.read();
 * await sender.write(2, message.data); // answer that client
 * const reply = await client.read();
 * console.log(reply.type, new TextDecoder().decode(reply.data)); // 2 "hello"
 * ```
 *
 * @module
 */

export { Client, type ClientEventMap, type ClientOptions, connectClient } from "./client.ts";
export {
  serve,
  type ServeOptions,
  Server,
  ServerClient,
  type ServerEventMap,
  type ServerMessage,
} from "./server.ts";
export {
  type IpcAddressOptions,
  type IpcKeys,
  type IpcMessage,
  type IpcProtocol,
  type IpcSecurityOptions,
  type IpcStatus,
  IpcStatusEvent,
} from "./types.ts";
