/**
 * {@linkcode QueueConn}: a {@linkcode Conn} made of two
 * {@linkcode ByteQueue}s, and the stream views over a queue that it and the
 * socket adapter share. Memory pipes are two queues joined crosswise; worker
 * ports, mux streams and `secure()` feed and drain theirs with pumps.
 *
 * @example A pipe by hand
 * ```ts
 * import { ByteQueue, QueueConn } from "@tether/tether/transport";
 *
 * const ab = new ByteQueue(), ba = new ByteQueue();
 * const addr = { transport: "memory", address: "by-hand" };
 * const a = new QueueConn({ localAddr: addr, remoteAddr: addr, inbound: ba, outbound: ab });
 * const b = new QueueConn({ localAddr: addr, remoteAddr: addr, inbound: ab, outbound: ba });
 * await a.write(new Uint8Array([42]));
 * console.log(await b.read(new Uint8Array(1))); // 1
 * ```
 *
 * @module
 */

import type { Addr, CallOptions, Conn } from "./conn.ts";
import { ConnClosedError } from "./errors.ts";
import { connWhere } from "./_where.ts";
import type { ByteQueue } from "./byte_queue.ts";
import { noop } from "./_async/waiter.ts";
import { checkBytes, rejection } from "./_validate.ts";
import { provideQueueAccess } from "./_queue_access.ts";

/**
 * What a {@linkcode QueueConn} is made of.
 *
 * @example
 * ```ts
 * import { ByteQueue, QueueConn, type QueueConnInit } from "@tether/tether/transport";
 *
 * const addr = { transport: "custom", address: "here" };
 * const init: QueueConnInit = {
 *   localAddr: addr,
 *   remoteAddr: addr,
 *   inbound: new ByteQueue(),
 *   outbound: new ByteQueue(),
 *   onClose: () => console.log("closed"),
 * };
 * new QueueConn(init).close(); // prints "closed"
 * ```
 */
export interface QueueConnInit {
  /** This end's address. */
  localAddr: Addr;
  /** The peer's address. */
  remoteAddr: Addr;
  /** The queue this end reads from. */
  inbound: ByteQueue;
  /** The queue this end writes to. */
  outbound: ByteQueue;
  /** Called once when `close()` is first called, after the queues closed. */
  onClose?: () => void;
  /** Called once when `readable` is cancelled, after the inbound queue closed for reading. */
  onCancelRead?: () => void;
}

/**
 * A {@linkcode Conn} made of two {@linkcode ByteQueue}s: the shared
 * machinery behind memory pipes and every transport that has no kernel
 * socket under it.
 *
 * - `close()` closes the inbound queue for reading (the peer's writes then
 *   fail, like EPIPE) and the outbound one for writing (the peer reads what
 *   is queued, then EOF).
 * - Cancelling `readable` closes the inbound queue for reading: later reads
 *   reject, the peer's writes fail. Writing goes on.
 *
 * @example
 * ```ts
 * import { ByteQueue, QueueConn } from "@tether/tether/transport";
 *
 * const inbound = new ByteQueue(), outbound = new ByteQueue();
 * const addr = { transport: "loopback", address: "self" };
 * const conn = new QueueConn({ localAddr: addr, remoteAddr: addr, inbound, outbound });
 * await inbound.write(new TextEncoder().encode("from the transport"));
 * await inbound.closeWrite();
 * console.log(await new Response(conn.readable).text()); // "from the transport"
 * ```
 */
export class QueueConn implements Conn {
  /** This end's address. */
  readonly localAddr: Addr;
  /** The peer's address. */
  readonly remoteAddr: Addr;
  /** Settles once both directions are done. */
  readonly closed: Promise<void>;
  #inbound: ByteQueue;
  #outbound: ByteQueue;
  #onClose: (() => void) | undefined;
  #onCancelRead: (() => void) | undefined;
  #state: "open" | "closed" = "open";
  #readable: ReadableStream<Uint8Array> | null = null;
  #writable: WritableStream<Uint8Array> | null = null;

  static {
    provideQueueAccess((conn) =>
      #inbound in conn ? { inbound: conn.#inbound, outbound: conn.#outbound } : undefined
    );
  }

  /** Joins two queues into a conn. */
  constructor(init: QueueConnInit) {
    this.localAddr = init.localAddr;
    this.remoteAddr = init.remoteAddr;
    this.#inbound = init.inbound;
    this.#outbound = init.outbound;
    this.#onClose = init.onClose;
    this.#onCancelRead = init.onCancelRead;
    this.closed = Promise.all([init.inbound.readDone, init.outbound.writeDone]).then(noop);
  }

  /** Reads into `p`; `null` at EOF. See {@linkcode Conn.read}. */
  read(p: Uint8Array, options?: CallOptions): Promise<number | null> {
    if (!(p instanceof Uint8Array)) return rejection(() => checkBytes(p))!;
    return this.#inbound.read(p, options);
  }

  /** Writes all of `p`. See {@linkcode Conn.write}. */
  write(p: Uint8Array, options?: CallOptions): Promise<number> {
    if (!(p instanceof Uint8Array)) return rejection(() => checkBytes(p))!;
    return this.#outbound.write(p, options);
  }

  /** Half-closes; resolves once the writes pending before it are done. */
  closeWrite(): Promise<void> {
    return this.#outbound.closeWrite(() =>
      new ConnClosedError({ op: "write", addr: connWhere(this), detail: "after closeWrite" })
    );
  }

  /** Closes both directions at once; idempotent. */
  close(): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    // Made only if a call sees them: most closed conns are never called again.
    this.#inbound.closeRead(
      () => new ConnClosedError({ op: "read", addr: connWhere(this), detail: "the conn was closed" }),
      () => new ConnClosedError({ op: "write", addr: connWhere(this), detail: "closed by peer" }),
    );
    this.#outbound.abortWrite(() =>
      new ConnClosedError({ op: "write", addr: connWhere(this), detail: "the conn was closed" })
    );
    this.#onClose?.();
  }

  /** Closes the conn; `await using` calls it. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  /** Closes the conn; `using` calls it. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** The inbound bytes as a byte stream (BYOB readers work). */
  get readable(): ReadableStream<Uint8Array> {
    return this.#readable ??= queueReadable(this.#inbound, () => this.#cancelRead());
  }

  /** The outbound bytes; chunks written are taken over without a copy. */
  get writable(): WritableStream<Uint8Array> {
    return this.#writable ??= queueWritable(this.#outbound, this);
  }

  #cancelRead(): void {
    this.#inbound.closeRead(
      () =>
        new ConnClosedError({
          op: "read",
          addr: connWhere(this),
          detail: "readable was cancelled",
        }),
      () =>
        new ConnClosedError({
          op: "write",
          addr: connWhere(this),
          detail: "the peer stopped reading",
        }),
    );
    this.#onCancelRead?.();
  }
}

/**
 * A byte stream over a queue's reading end: BYOB reads copy straight into
 * the reader's buffer, default reads take whole chunks (small ones joined).
 * `onCancel` runs when the stream is cancelled.
 *
 * @example
 * ```ts
 * import { ByteQueue, queueReadable } from "@tether/tether/transport";
 *
 * const queue = new ByteQueue();
 * const readable = queueReadable(queue, () => console.log("cancelled"));
 * await queue.write(new Uint8Array([1, 2]));
 * await queue.closeWrite();
 * console.log(await new Response(readable).bytes()); // Uint8Array(2) [ 1, 2 ]
 * ```
 */
export function queueReadable(queue: ByteQueue, onCancel: () => void): ReadableStream<Uint8Array> {
  return new ReadableStream({
    type: "bytes",
    pull(controller) {
      const request = controller.byobRequest;
      if (request) {
        const view = request.view!;
        const into = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
        return queue.read(into).then((n) => {
          if (n === null) {
            controller.close();
            request.respond(0);
          } else {
            request.respond(n);
          }
        });
      }
      const now = queue.readChunkNow();
      if (now !== undefined) return deliver(controller, now);
      return queue.readChunk().then((chunk) => deliver(controller, chunk));
    },
    cancel: onCancel,
  }, { highWaterMark: 0 });
}

function deliver(controller: ReadableByteStreamController, chunk: Uint8Array | null): void {
  if (chunk === null) return controller.close();
  // Transfer only a chunk that is all of its buffer: a view into a larger one
  // would detach bytes that are not ours.
  const whole = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength &&
    chunk.buffer instanceof ArrayBuffer;
  controller.enqueue(whole ? chunk : chunk.slice());
}

/**
 * A writable stream into a queue's writing end, taking chunks over without
 * a copy; closing it half-closes `conn`, aborting it closes `conn`.
 *
 * @example
 * ```ts
 * import { ByteQueue, QueueConn, queueWritable } from "@tether/tether/transport";
 *
 * const inbound = new ByteQueue(), outbound = new ByteQueue();
 * const addr = { transport: "custom", address: "x" };
 * const conn = new QueueConn({ localAddr: addr, remoteAddr: addr, inbound, outbound });
 * const writer = queueWritable(outbound, conn).getWriter();
 * await writer.write(new Uint8Array([9]));
 * console.log(await outbound.readChunk()); // Uint8Array(1) [ 9 ]
 * ```
 */
export function queueWritable(queue: ByteQueue, conn: Conn): WritableStream<Uint8Array> {
  return new WritableStream<Uint8Array>({
    write(chunk) {
      checkBytes(chunk, "chunk");
      if (chunk.buffer instanceof ArrayBuffer && chunk.buffer.detached) {
        throw new TypeError(
          "chunk's buffer was transferred: a chunk written to writable belongs to the conn, so write a copy",
        );
      }
      const done = queue.writeNow(chunk, OWNED);
      if (typeof done !== "number") return done.then(noop);
    },
    close: () => conn.closeWrite(),
    abort: () => conn.close(),
  });
}

const OWNED = Object.freeze({ owned: true });
