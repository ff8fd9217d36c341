/**
 * For authors of transports: the queue and deadline machinery tether's own
 * in-process transports are built from. A transport that can move bytes
 * (a MessagePort, a WebSocket, a serial line) feeds an inbound
 * {@linkcode ByteQueue} and drains an outbound one, and a
 * {@linkcode QueueConn} over the two keeps every rule of the `Conn`
 * contract: deadlines, ordering, backpressure, half-close, close, stream
 * views. An {@linkcode AcceptQueue} does the same for listeners. Check the
 * result with the conformance kit in `@tether/tether/testing`.
 *
 * @example A loopback transport of your own
 * ```ts
 * import { ByteQueue, QueueConn } from "@tether/tether/transport";
 *
 * function loopbackPair(): [QueueConn, QueueConn] {
 *   const ab = new ByteQueue(), ba = new ByteQueue();
 *   const addr = { transport: "loopback", address: "pair" };
 *   return [
 *     new QueueConn({ localAddr: addr, remoteAddr: addr, inbound: ba, outbound: ab }),
 *     new QueueConn({ localAddr: addr, remoteAddr: addr, inbound: ab, outbound: ba }),
 *   ];
 * }
 * const [a, b] = loopbackPair();
 * await a.write(new Uint8Array([1, 2, 3]));
 * console.log(await b.read(new Uint8Array(3))); // 3
 * ```
 *
 * @module
 */

export {
  ByteQueue,
  type ByteQueueOptions,
  type QueueWriteOptions,
  type ReadChunkOptions,
} from "./byte_queue.ts";
export { QueueConn, type QueueConnInit, queueReadable, queueWritable } from "./queue_conn.ts";
export { acceptLoop, AcceptQueue, type AcceptQueueOptions, ListenerBase } from "./accept_queue.ts";
export { checkBufferSize } from "./_validate.ts";
