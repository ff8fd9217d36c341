/**
 * Real Windows named pipes through `node:net`, which Deno supports. Kept
 * small: a `node:net` socket feeds and drains the two {@linkcode ByteQueue}s
 * of a {@linkcode QueueConn}, so the contract's semantics come from the
 * shared machinery. Untested in this project's CI, which runs on Linux.
 *
 * @module
 */

import { createConnection, createServer, type Server, type Socket } from "node:net";
import { type Addr, ByteQueue, type CallOptions, noop, QueueConn, watch } from "../conn.ts";
import { acceptLoop, AcceptQueue, type Listener } from "../listener.ts";
import { ConnClosedError, ConnectionRefusedError, ConnError } from "../errors.ts";

/** Wraps a connected `node:net` socket as a conn. */
function adapt(socket: Socket, addr: Addr, bufferSize: number): QueueConn {
  const inbound = new ByteQueue(bufferSize);
  const outbound = new ByteQueue(bufferSize);
  const where = `pipe:${addr.address}`;
  socket.on("data", (chunk: Uint8Array) => {
    const wrote = inbound.write(chunk, undefined, true);
    socket.pause(); // backpressure: resume once the chunk fits the window
    wrote.then(() => socket.resume(), noop);
  });
  socket.on("end", () => inbound.closeWrite());
  socket.on(
    "error",
    (err) => inbound.closeRead(new ConnClosedError(`${where}: ${err.message}`, { cause: err })),
  );
  (async () => {
    for (let chunk; (chunk = await outbound.readChunk()) !== null;) {
      await new Promise<void>((resolve, reject) =>
        socket.write(chunk!, (err) => err ? reject(err) : resolve())
      );
    }
    socket.end();
  })().catch(() => conn.close());
  const conn = new QueueConn({
    localAddr: addr,
    remoteAddr: addr,
    inbound,
    outbound,
    onClose: () => socket.destroy(),
  });
  return conn;
}

/** Listens on a Windows named pipe; at most `maxInstances` conns at once. */
export function listenWindowsPipe(addr: Addr, maxInstances: number, bufferSize: number): Promise<Listener> {
  const queue = new AcceptQueue<QueueConn>(`pipe:${addr.address}`, 32);
  const server: Server = createServer((socket) => {
    queue.offer(adapt(socket, addr, bufferSize), undefined).catch(() => socket.destroy());
  });
  if (maxInstances !== Infinity) server.maxConnections = maxInstances;
  return new Promise((resolve, reject) => {
    server.once("error", (err) =>
      reject(
        new ConnError(`listen on pipe:${addr.address}: ${err.message}`, {
          code: (err as { code?: string }).code ?? "EIO",
          cause: err,
        }),
      ));
    server.listen(addr.address, () => {
      const listener: Listener = {
        addr,
        accept: (options?: CallOptions) => queue.accept(options),
        close() {
          queue.close((conn) => conn.close());
          server.close();
        },
        [Symbol.asyncIterator]: () => acceptLoop(listener),
        [Symbol.asyncDispose]: () => Promise.resolve(listener.close()),
        [Symbol.dispose]: () => listener.close(),
      };
      resolve(listener);
    });
  });
}

/**
 * Connects to a Windows named pipe, retrying with backoff while it does not
 * exist or is busy, within `signal`.
 */
export async function connectWindowsPipe(
  addr: Addr,
  bufferSize: number,
  signal: AbortSignal | undefined,
  retry: (signal: AbortSignal | undefined) => Promise<void>,
): Promise<QueueConn> {
  while (true) {
    signal?.throwIfAborted();
    const socket = createConnection(addr.address);
    const stop = watch(signal, () => socket.destroy());
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once("connect", resolve);
        socket.once("error", reject);
      });
      return adapt(socket, addr, bufferSize);
    } catch (err) {
      signal?.throwIfAborted();
      const code = (err as { code?: string }).code;
      if (code !== "ENOENT" && code !== "EBUSY" && code !== "EAGAIN") {
        throw new ConnectionRefusedError(`pipe:${addr.address}`, { cause: err });
      }
    } finally {
      stop();
    }
    await retry(signal);
  }
}
