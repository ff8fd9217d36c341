/**
 * Real Windows named pipes through `node:net`, which Deno supports. Kept
 * small: a `node:net` socket feeds and drains the two {@linkcode ByteQueue}s
 * of a {@linkcode QueueConn}, so the contract's semantics come from the
 * shared machinery. Untested in this project's CI, which runs on Linux.
 *
 * @module
 */

// Types only: node:net itself is loaded when a pipe is first used, since a
// bundler hoists a static import to the top of every browser bundle of the package.
import type { Server, Socket } from "node:net";
import type { Addr, CallOptions, Conn } from "../conn.ts";
import type { Dialer, Listener } from "../listener.ts";
import { acceptLoop, AcceptQueue } from "../accept_queue.ts";
import { ByteQueue } from "../byte_queue.ts";
import { QueueConn } from "../queue_conn.ts";
import { abortError, ConnClosedError, ConnectionRefusedError, ConnError } from "../errors.ts";
import { noop, onAbort } from "../_async/waiter.ts";

/** Wraps a connected `node:net` socket as a conn. */
function adapt(socket: Socket, addr: Addr, bufferSize: number): QueueConn {
  const inbound = new ByteQueue({ window: bufferSize });
  const outbound = new ByteQueue({ window: bufferSize });
  const where = `pipe:${addr.address}`;
  socket.on("data", (chunk: Uint8Array) => {
    const wrote = inbound.write(chunk, { owned: true });
    socket.pause(); // backpressure: resume once the chunk fits the window
    wrote.then(() => socket.resume(), noop);
  });
  socket.on("end", () => inbound.closeWrite());
  socket.on("error", (err) => {
    const error = new ConnClosedError({ addr: where, detail: err.message, cause: err });
    inbound.abortWrite(error, error); // readers get what came, then the error
    outbound.closeRead(error);
  });
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
export async function listenWindowsPipe(
  addr: Addr,
  maxInstances: number,
  bufferSize: number,
  dial: (options?: CallOptions) => Promise<Conn>,
): Promise<Listener & { dialer(): Dialer }> {
  const { createServer } = await import("node:net");
  const queue = new AcceptQueue<QueueConn>({ addr: `pipe:${addr.address}`, backlog: 32 });
  const server: Server = createServer((socket) => {
    try {
      queue.enqueue(adapt(socket, addr, bufferSize));
    } catch {
      socket.destroy();
    }
  });
  if (maxInstances !== Infinity) server.maxConnections = maxInstances;
  return await new Promise((resolve, reject) => {
    server.once("error", (err) =>
      reject(
        new ConnError({
          op: "listen",
          addr: `pipe:${addr.address}`,
          code: (err as { code?: string }).code ?? "EIO",
          detail: err.message,
          cause: err,
        }),
      ));
    server.listen(addr.address, () => {
      const listener: Listener & { dialer(): Dialer } = {
        addr,
        dialer: () => ({ dial }),
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
  retry: () => Promise<void>,
): Promise<QueueConn> {
  const { createConnection } = await import("node:net");
  while (true) {
    const where = `pipe:${addr.address}`;
    if (signal?.aborted) throw abortError(signal.reason, { op: "connect", addr: where });
    const socket = createConnection(addr.address);
    const stop = onAbort(signal, () => socket.destroy());
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once("connect", resolve);
        socket.once("error", reject);
      });
      return adapt(socket, addr, bufferSize);
    } catch (err) {
      if (signal?.aborted) throw abortError(signal.reason, { op: "connect", addr: where });
      const code = (err as { code?: string }).code;
      if (code !== "ENOENT" && code !== "EBUSY" && code !== "EAGAIN") {
        throw new ConnectionRefusedError({ addr: where, cause: err });
      }
    } finally {
      stop();
    }
    await retry();
  }
}
