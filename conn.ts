/**
 * The one connection shape every transport returns, and the machinery the
 * transports without a kernel under them share.
 *
 * A {@linkcode Conn} is a pair of Web Streams plus `read`/`write` calls with
 * `AbortSignal` deadlines, shaped like `Deno.Conn`. {@linkcode ByteQueue} is
 * one direction of a connection: a bounded FIFO of bytes with deadlines,
 * ordered concurrent callers, half-close and close, all handled in one place.
 * {@linkcode QueueConn} puts two of them together as a `Conn`. The in-memory
 * pipe, worker ports and multiplexed streams are all `QueueConn`s, fed and
 * drained differently.
 *
 * ## Buffers
 *
 * - `write(p)` never keeps `p` after it resolves, as with a socket: the caller
 *   may refill its buffer at once. A write that meets a waiting `read(q)`
 *   copies straight into `q`; one that fits the window is copied into the
 *   queue; one that does not waits, still referencing `p`, until the reader
 *   has copied all of it out.
 * - `read(p)` copies into `p` and keeps nothing.
 * - A chunk written to `writable` belongs to the connection from then on, as
 *   with any Web Stream: it crosses to the peer's `readable` without a copy
 *   (its `ArrayBuffer` is transferred when the chunk spans all of it).
 *
 * @example A pipe
 * ```ts
 * import { pipe } from "@tether/tether";
 *
 * const [a, b] = pipe();
 * await a.write(new TextEncoder().encode("hi"));
 * const buf = new Uint8Array(16);
 * const n = await b.read(buf);
 * console.log(new TextDecoder().decode(buf.subarray(0, n!))); // "hi"
 * ```
 *
 * @module
 */

import { ConnClosedError } from "./errors.ts";
import { Fifo } from "./_fifo.ts";

/**
 * The transports an {@linkcode Addr} can name.
 *
 * @example
 * ```ts
 * import type { Transport } from "@tether/tether";
 *
 * const kinds: Transport[] = ["memory", "unix", "tcp", "pipe", "worker"];
 * console.log(kinds.length); // 5
 * ```
 */
export type Transport = "memory" | "unix" | "tcp" | "pipe" | "worker";

/**
 * Where one end of a connection is.
 *
 * @example
 * ```ts
 * import { type Addr, pipe } from "@tether/tether";
 *
 * const [a] = pipe();
 * const addr: Addr = a.remoteAddr;
 * console.log(`${addr.transport}:${addr.address}`); // "memory:pipe"
 * ```
 */
export interface Addr {
  /** The transport the connection runs over. */
  readonly transport: Transport;
  /** The address within that transport: a name, a path or `host:port`. */
  readonly address: string;
}

/**
 * Options of a single call: its deadline or cancellation.
 *
 * @example
 * ```ts
 * import { type CallOptions, pipe } from "@tether/tether";
 *
 * const [a] = pipe();
 * const options: CallOptions = { signal: AbortSignal.timeout(50) };
 * const err = await a.read(new Uint8Array(1), options).catch((e) => e);
 * console.log(err.name); // "TimeoutError"
 * ```
 */
export interface CallOptions {
  /**
   * Aborting it makes the call reject with `signal.reason`; an already-aborted
   * signal fails at once. `AbortSignal.timeout(ms)` makes a deadline.
   */
  signal?: AbortSignal;
}

/**
 * A bidirectional byte stream between two ends, with the shape of
 * `Deno.Conn`.
 *
 * @example Reading until EOF
 * ```ts
 * import { type Conn, pipe } from "@tether/tether";
 *
 * async function drain(conn: Conn): Promise<number> {
 *   let total = 0;
 *   const buf = new Uint8Array(1024);
 *   for (let n; (n = await conn.read(buf)) !== null;) total += n;
 *   return total;
 * }
 * const [a, b] = pipe();
 * await a.write(new Uint8Array(10));
 * await a.closeWrite();
 * console.log(await drain(b)); // 10
 * ```
 */
export interface Conn extends AsyncDisposable, Disposable {
  /** This end's address. */
  readonly localAddr: Addr;
  /** The peer's address. */
  readonly remoteAddr: Addr;
  /** The bytes the peer sends, as a byte stream; it ends when the peer half-closes. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes to send; closing it half-closes, aborting it closes the conn. */
  readonly writable: WritableStream<Uint8Array>;
  /**
   * Reads into `p`; resolves with the number of bytes read, or `null` at EOF.
   * An aborted read consumed nothing.
   */
  read(p: Uint8Array, options?: CallOptions): Promise<number | null>;
  /**
   * Writes all of `p`; resolves with `p.length` once the conn no longer needs
   * `p`. An aborted write may have delivered a prefix of `p`.
   */
  write(p: Uint8Array, options?: CallOptions): Promise<number>;
  /** Half-closes: the peer reads EOF after the bytes already written. */
  closeWrite(): Promise<void>;
  /** Closes both directions; idempotent. Pending reads and writes reject. */
  close(): void;
  /** Settles once both directions are done. */
  readonly closed: Promise<void>;
}

/**
 * The default window of queued bytes per direction: 64 KiB.
 *
 * @example
 * ```ts
 * import { DEFAULT_BUFFER_SIZE, pipe } from "@tether/tether";
 *
 * const [a] = pipe({ bufferSize: DEFAULT_BUFFER_SIZE * 4 });
 * a.close();
 * ```
 */
export const DEFAULT_BUFFER_SIZE = 64 * 1024;

/**
 * Checks a `bufferSize` option and returns it, or the default.
 *
 * @example
 * ```ts
 * import { checkBufferSize } from "@tether/tether";
 *
 * console.log(checkBufferSize(undefined)); // 65536
 * ```
 */
export function checkBufferSize(value: unknown, what = "bufferSize"): number {
  if (value === undefined) return DEFAULT_BUFFER_SIZE;
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw new TypeError(`${what} must be a whole number of bytes, got ${describe(value)}`);
  }
  if (value < 1) throw new RangeError(`${what} must be at least 1 byte, got ${value}`);
  return value;
}

/** Describes a bad argument for an error message. */
export function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (value === null || typeof value !== "object") return String(value);
  return Object.prototype.toString.call(value);
}

/** Checks that `p` is a `Uint8Array`, as the platform's sockets do. */
export function checkBytes(p: unknown, what = "buffer"): asserts p is Uint8Array {
  if (!(p instanceof Uint8Array)) {
    throw new TypeError(`${what} must be a Uint8Array, got ${describe(p)}`);
  }
}

/**
 * The error for a `signal` option that is not an `AbortSignal`, or `null`
 * when it is one or absent: every call checks it before it changes anything.
 *
 * @example
 * ```ts
 * import { badSignal } from "@tether/tether";
 *
 * console.log(badSignal({ signal: AbortSignal.timeout(10) })); // null
 * console.log(badSignal({ signal: {} as AbortSignal })?.name); // "TypeError"
 * ```
 */
export function badSignal(options: CallOptions | undefined): TypeError | null {
  const signal = options?.signal;
  if (signal === undefined || signal instanceof AbortSignal) return null;
  return new TypeError(`signal must be an AbortSignal, got ${describe(signal)}`);
}

/**
 * Formats an address for messages: `memory:echo`, `unix:/run/x.sock`; the
 * unnamed end of a Unix socket (a client's own address) shows as `unix:(unnamed peer)`.
 *
 * @example
 * ```ts
 * import { formatAddr } from "@tether/tether";
 *
 * console.log(formatAddr({ transport: "unix", address: "/run/app.sock" })); // "unix:/run/app.sock"
 * ```
 */
export function formatAddr(addr: Addr): string {
  return `${addr.transport}:${addr.address === "" ? "(unnamed peer)" : addr.address}`;
}

const EMPTY = new Uint8Array(0);
/** Owned chunks smaller than this are joined with their neighbours when read whole. */
const JOIN_BELOW = 4096;
/** Writes this small are copied into the shared tail buffer. */
const SMALL_WRITE = 1024;
/** The size of a tail buffer. */
const TAIL_SIZE = 16 * 1024;
/** Copies at least this big are kept for reuse once read out. */
const SPARE_FROM = 4096;
/** How many bytes a joined chunk holds at most. */
const JOIN_UP_TO = 64 * 1024;

interface Waiting<T> {
  resolve(value: T): void;
  reject(reason: unknown): void;
  /** Detaches the abort listener, if any. */
  settled(): void;
}

interface Segment {
  /** The bytes not yet read. */
  bytes: Uint8Array;
  /** Whether the queue owns `bytes` and may hand them on without a copy. */
  owned: boolean;
  /** The write still waiting on this segment, if any. */
  writer: Waiting<number> | null;
  /** The write's length, which it resolves with. */
  length: number;
  /** Whether `bytes` is the queue's own copy, reusable once read out. */
  copy: boolean;
}

interface Reader extends Waiting<number | Uint8Array | null> {
  /** Copy into this, or take a whole chunk when `null`. */
  into: Uint8Array | null;
}

/**
 * Registers `onAbort` on `signal` and returns a function that removes it; the
 * one place deadlines attach to a waiting call.
 * Internal to the transports.
 */
export function watch(signal: AbortSignal | undefined, onAbort: () => void): () => void {
  if (signal === undefined) return noop;
  signal.addEventListener("abort", onAbort, { once: true });
  return () => signal.removeEventListener("abort", onAbort);
}

/** Does nothing; the callback for nothing to do. */
export function noop(): void {}

/**
 * One direction of a connection: a bounded, ordered queue of bytes between a
 * writing end and a reading end.
 *
 * Writers wait once `window` bytes are queued; readers wait while it is empty.
 * Both are served in call order and honour their signals: an aborted read
 * consumed nothing, an aborted write delivered a prefix at most. Transports
 * feed a queue with {@linkcode ByteQueue.write} and drain it with
 * {@linkcode ByteQueue.read} or {@linkcode ByteQueue.readChunk}.
 *
 * @example
 * ```ts
 * import { ByteQueue } from "@tether/tether";
 *
 * const q = new ByteQueue(4);
 * await q.write(new Uint8Array([1, 2, 3]));
 * const chunk = await q.readChunk();
 * console.log(chunk); // Uint8Array(3) [ 1, 2, 3 ]
 * ```
 */
export class ByteQueue {
  /** How many bytes may be queued before writers wait. */
  readonly window: number;
  #segments = new Fifo<Segment>();
  #queued = 0;
  #spare: Uint8Array | null = null;
  /** Where small writes are copied, one after another; see `#appendToLast`. */
  #tail: Uint8Array | null = null;
  #tailUsed = 0;
  #pendingWriters = 0;
  #readers: Reader[] = [];
  /** Set once no more writes are taken; the reader sees EOF after the queue. */
  #writeError: Error | null = null;
  /** Set once the reading end is gone; reads and writes fail. */
  #readError: Error | null = null;
  #writerGone: Error | null = null;
  /** What readers get instead of EOF once the queue is empty, if the stream broke. */
  #endError: Error | null = null;
  #readDone = Promise.withResolvers<void>();
  #writeDone = Promise.withResolvers<void>();

  /** Makes a queue that holds at most `window` bytes before writers wait. */
  constructor(window: number = DEFAULT_BUFFER_SIZE) {
    this.window = checkBufferSize(window, "window");
  }

  /** How many bytes are queued and not yet read. */
  get queued(): number {
    return this.#queued;
  }

  /** Resolves once the reading end saw EOF or was closed. */
  get readDone(): Promise<void> {
    return this.#readDone.promise;
  }

  /** Resolves once the writing end is closed and its last write settled. */
  get writeDone(): Promise<void> {
    return this.#writeDone.promise;
  }

  /**
   * Queues all of `data`, resolving with its length once the queue no longer
   * needs it. With `owned`, the queue takes `data` over and may hand it to a
   * reader as is; otherwise it copies what it keeps.
   */
  write(data: Uint8Array, options?: CallOptions, owned = false): Promise<number> {
    const result = this.writeNow(data, options, owned);
    return typeof result === "number" ? Promise.resolve(result) : result;
  }

  /**
   * {@linkcode ByteQueue.write}, but returns the length itself, not a
   * promise, when the write is done at once: the fast path for pumps and
   * stream sinks.
   */
  writeNow(data: Uint8Array, options?: CallOptions, owned = false): number | Promise<number> {
    const bad = badSignal(options);
    if (bad) return Promise.reject(bad);
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#writeError) return Promise.reject(this.#writeError);
    if (this.#readError) return Promise.reject(this.#writerGone);
    const length = data.byteLength;
    if (length === 0) return 0;
    if (
      !owned && length <= SMALL_WRITE && this.#readers.length === 0 && this.#pendingWriters === 0 &&
      this.#queued + length <= this.window && this.#appendToLast(data)
    ) {
      this.#queued += length;
      return length;
    }
    const segment: Segment = { bytes: data, owned, writer: null, length, copy: false };
    this.#segments.push(segment);
    this.#queued += length;
    if (this.#readers.length > 0) this.#feed();
    if (segment.bytes.byteLength === 0) return length;
    if (this.#pendingWriters === 0 && this.#queued <= this.window) {
      if (!owned) {
        segment.owned = true;
        if (length <= SMALL_WRITE) {
          segment.bytes = this.#copyToTail(segment.bytes);
        } else {
          segment.bytes = this.#copyOf(segment.bytes);
          segment.copy = true;
        }
      }
      return length;
    }
    const { promise, resolve, reject } = Promise.withResolvers<number>();
    const settled = watch(signal, () => this.#abortWriter(segment, signal!.reason));
    segment.writer = { resolve, reject, settled };
    this.#pendingWriters++;
    return promise;
  }

  /** Reads into `p`: resolves with the count copied, or `null` at EOF. */
  read(p: Uint8Array, options?: CallOptions): Promise<number | null> {
    return this.#read(p, options?.signal) as Promise<number | null>;
  }

  /**
   * Takes the next chunk as it was queued (no copy if the queue owns it), or
   * `null` at EOF. The caller owns the chunk.
   */
  readChunk(options?: CallOptions): Promise<Uint8Array | null> {
    return this.#read(null, options?.signal) as Promise<Uint8Array | null>;
  }

  /**
   * Takes the next chunk if one is queued, without waiting: `undefined` when
   * the queue is empty and open, `null` at EOF. Small queued chunks come
   * joined into one, so a reader pays per batch rather than per write.
   */
  readChunkNow(): Uint8Array | null | undefined {
    if (this.#readError) throw this.#readError;
    if (this.#readers.length > 0) return undefined;
    if (this.#segments.length > 0) {
      const chunk = this.#takeChunk();
      this.#settleWriters();
      return chunk;
    }
    if (this.#writeError) {
      this.#readDone.resolve();
      if (this.#endError) throw this.#endError;
      return null;
    }
    return undefined;
  }

  #read(into: Uint8Array | null, signal: AbortSignal | undefined): Promise<number | Uint8Array | null> {
    const bad = badSignal({ signal });
    if (bad) return Promise.reject(bad);
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#readError) return Promise.reject(this.#readError);
    if (this.#readers.length === 0) {
      if (into !== null && into.byteLength === 0) return Promise.resolve(0);
      if (this.#segments.length > 0) {
        const result = into === null ? this.#takeChunk() : this.#copyOut(into);
        this.#settleWriters();
        return Promise.resolve(result);
      }
      if (this.#writeError) {
        this.#readDone.resolve();
        return this.#endError ? Promise.reject(this.#endError) : Promise.resolve(null);
      }
    }
    const { promise, resolve, reject } = Promise.withResolvers<number | Uint8Array | null>();
    const reader: Reader = { into, resolve, reject, settled: noop };
    reader.settled = watch(signal, () => {
      const i = this.#readers.indexOf(reader);
      if (i >= 0) this.#readers.splice(i, 1);
      reject(signal!.reason);
    });
    this.#readers.push(reader);
    return promise;
  }

  /**
   * No more writes: the reader sees EOF after the bytes queued and those of
   * the writes still pending, which finish first. Resolves once they have.
   */
  closeWrite(error: Error = new ConnClosedError("write after closeWrite")): Promise<void> {
    if (!this.#writeError) {
      this.#writeError = error;
      this.#feed();
      this.#checkWriteDone();
    }
    return this.#writeDone.promise;
  }

  /**
   * Closes the writing end at once: pending writes reject with `error` and
   * what they had not delivered is dropped; queued bytes still reach the
   * reader, then EOF, or, given `endWith`, a rejection with it: how a
   * transport says the stream broke rather than ended.
   */
  abortWrite(error: Error, endWith?: Error): void {
    if (!this.#writeError) this.#writeError = error;
    // A stream that half-closed and then broke, before its reader saw EOF, broke.
    if (endWith && !this.#endError) this.#endError = endWith;
    let first = 0;
    while (first < this.#segments.length && this.#segments.at(first).writer === null) first++;
    if (first < this.#segments.length) {
      for (const segment of this.#segments.removeFrom(first)) {
        this.#queued -= segment.bytes.byteLength;
        this.#failWriter(segment, error);
      }
    }
    this.#feed();
    this.#checkWriteDone();
  }

  /**
   * Closes the reading end: pending and later reads reject with `readError`,
   * queued bytes are dropped, and pending and later writes reject with
   * `writeError` (the peer's EPIPE).
   */
  closeRead(readError: Error, writeError: Error = readError): void {
    if (this.#readError) return;
    this.#readError = readError;
    this.#writerGone = writeError;
    for (const reader of this.#readers.splice(0)) {
      reader.settled();
      reader.reject(readError);
    }
    for (const segment of this.#segments.removeFrom(0)) this.#failWriter(segment, writeError);
    this.#queued = 0;
    this.#readDone.resolve();
    this.#writeDone.resolve();
  }

  /** Serves waiting readers from the queue, or with EOF once it is empty. */
  #feed(): void {
    while (this.#readers.length > 0) {
      if (this.#segments.length > 0) {
        const reader = this.#readers.shift()!;
        reader.settled();
        reader.resolve(reader.into === null ? this.#takeChunk() : this.#copyOut(reader.into));
      } else if (this.#writeError) {
        for (const reader of this.#readers.splice(0)) {
          reader.settled();
          if (this.#endError) reader.reject(this.#endError);
          else reader.resolve(null);
        }
        this.#readDone.resolve();
      } else {
        break;
      }
    }
    this.#settleWriters();
  }

  /**
   * Appends a small write to the last segment, if that is the queue's own
   * copy ending where the tail buffer's free room starts: a run of small
   * writes then costs no allocation and reads out as one chunk.
   */
  #appendToLast(data: Uint8Array): boolean {
    const tail = this.#tail;
    const segments = this.#segments;
    if (tail === null || segments.length === 0 || this.#tailUsed + data.byteLength > tail.byteLength) {
      return false;
    }
    const last = segments.at(segments.length - 1);
    const bytes = last.bytes;
    if (
      last.writer !== null || bytes.buffer !== tail.buffer ||
      bytes.byteOffset + bytes.byteLength !== this.#tailUsed
    ) {
      return false;
    }
    tail.set(data, this.#tailUsed);
    this.#tailUsed += data.byteLength;
    last.bytes = new Uint8Array(tail.buffer, bytes.byteOffset, bytes.byteLength + data.byteLength);
    return true;
  }

  /** A copy of a small write in the tail buffer, starting a new one when it is full. */
  #copyToTail(bytes: Uint8Array): Uint8Array {
    if (this.#tail === null || this.#tailUsed + bytes.byteLength > this.#tail.byteLength) {
      this.#tail = new Uint8Array(TAIL_SIZE);
      this.#tailUsed = 0;
    }
    const copy = this.#tail.subarray(this.#tailUsed, this.#tailUsed + bytes.byteLength);
    copy.set(bytes);
    this.#tailUsed += bytes.byteLength;
    return copy;
  }

  /** A copy of `bytes`, in the last copy a reader finished with if it fits. */
  #copyOf(bytes: Uint8Array): Uint8Array {
    const spare = this.#spare;
    if (spare !== null && spare.byteLength >= bytes.byteLength) {
      this.#spare = null;
      const copy = spare.subarray(0, bytes.byteLength);
      copy.set(bytes);
      return copy;
    }
    return bytes.slice();
  }

  #copyOut(into: Uint8Array): number {
    let n = 0;
    const segments = this.#segments;
    while (n < into.byteLength && segments.length > 0) {
      const segment = segments.at(0);
      const bytes = segment.bytes;
      const k = Math.min(bytes.byteLength, into.byteLength - n);
      if (k === bytes.byteLength) {
        into.set(bytes, n);
        segments.shift();
        // Copied out whole, the queue's own copy can take the next write.
        if (segment.copy && bytes.byteLength >= SPARE_FROM) this.#spare = new Uint8Array(bytes.buffer);
        this.#consumed(segment);
      } else {
        into.set(bytes.subarray(0, k), n);
        segment.bytes = bytes.subarray(k);
      }
      n += k;
    }
    this.#queued -= n;
    // Everything in the tail buffer was copied out: it can start again from the top.
    if (segments.length === 0) this.#tailUsed = 0;
    return n;
  }

  #takeChunk(): Uint8Array {
    const segments = this.#segments;
    const head = segments.at(0);
    // The tail buffer still takes writes, so what is in it is copied out, never handed out.
    const inTail = head.bytes.buffer === this.#tail?.buffer;
    if (head.owned && !inTail && (head.bytes.byteLength >= JOIN_BELOW || segments.length === 1)) {
      segments.shift();
      const chunk = head.bytes;
      this.#queued -= chunk.byteLength;
      this.#consumed(head);
      return chunk;
    }
    // A small or borrowed chunk: copy it, joined with the small ones behind it.
    let size = 0;
    for (const segment of segments) {
      size += segment.bytes.byteLength;
      if (size >= JOIN_UP_TO) break;
    }
    // At most a window's worth, so a reader never holds more than the writer could queue.
    const joined = new Uint8Array(
      Math.min(size, Math.max(JOIN_UP_TO, Math.min(head.bytes.byteLength, this.window))),
    );
    this.#copyOut(joined);
    return joined;
  }

  /** A segment was read to its end: its write, if waiting, is done. */
  #consumed(segment: Segment): void {
    segment.bytes = EMPTY;
    const writer = segment.writer;
    if (writer !== null) {
      segment.writer = null;
      this.#pendingWriters--;
      writer.settled();
      writer.resolve(segment.length);
      this.#checkWriteDone();
    }
  }

  /**
   * Owned writes resolve once they fit in the window, in order; a borrowed
   * buffer resolves only once read, so it is never copied twice.
   */
  #settleWriters(): void {
    if (this.#pendingWriters === 0) return;
    let total = 0;
    for (const segment of this.#segments) {
      total += segment.bytes.byteLength;
      if (total > this.window) return;
      const writer = segment.writer;
      if (writer === null) continue;
      if (!segment.owned) return;
      segment.writer = null;
      this.#pendingWriters--;
      writer.settled();
      writer.resolve(segment.length);
    }
    this.#checkWriteDone();
  }

  #abortWriter(segment: Segment, reason: unknown): void {
    const i = this.#segments.indexOf(segment);
    if (i >= 0) {
      this.#segments.removeAt(i);
      this.#queued -= segment.bytes.byteLength;
    }
    this.#failWriter(segment, reason);
    this.#settleWriters();
    this.#checkWriteDone();
  }

  #failWriter(segment: Segment, reason: unknown): void {
    const writer = segment.writer;
    segment.bytes = EMPTY;
    if (writer === null) return;
    segment.writer = null;
    this.#pendingWriters--;
    writer.settled();
    writer.reject(reason);
  }

  #checkWriteDone(): void {
    if (this.#writeError && this.#pendingWriters === 0) this.#writeDone.resolve();
  }
}

/**
 * What a {@linkcode QueueConn} is made of.
 *
 * @example
 * ```ts
 * import { ByteQueue, QueueConn, type QueueConnInit } from "@tether/tether";
 *
 * const addr = { transport: "memory", address: "custom" } as const;
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
}

/**
 * A {@linkcode Conn} made of two {@linkcode ByteQueue}s: the shared
 * machinery behind memory pipes and every transport that has no kernel
 * socket under it.
 *
 * @example A pipe by hand
 * ```ts
 * import { ByteQueue, QueueConn } from "@tether/tether";
 *
 * const ab = new ByteQueue(), ba = new ByteQueue();
 * const addr = { transport: "memory", address: "by-hand" } as const;
 * const a = new QueueConn({ localAddr: addr, remoteAddr: addr, inbound: ba, outbound: ab });
 * const b = new QueueConn({ localAddr: addr, remoteAddr: addr, inbound: ab, outbound: ba });
 * await a.write(new Uint8Array([42]));
 * console.log(await b.read(new Uint8Array(1))); // 1
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
  #isClosed = false;
  #readable: ReadableStream<Uint8Array> | null = null;
  #writable: WritableStream<Uint8Array> | null = null;

  /** Joins two queues into a conn. */
  constructor(init: QueueConnInit) {
    this.localAddr = init.localAddr;
    this.remoteAddr = init.remoteAddr;
    this.#inbound = init.inbound;
    this.#outbound = init.outbound;
    this.#onClose = init.onClose;
    this.closed = Promise.all([init.inbound.readDone, init.outbound.writeDone]).then(noop);
  }

  /** Reads into `p`; `null` at EOF. See {@linkcode Conn.read}. */
  read(p: Uint8Array, options?: CallOptions): Promise<number | null> {
    if (!(p instanceof Uint8Array)) return rejectBytes(p);
    return this.#inbound.read(p, options);
  }

  /** Writes all of `p`. See {@linkcode Conn.write}. */
  write(p: Uint8Array, options?: CallOptions): Promise<number> {
    if (!(p instanceof Uint8Array)) return rejectBytes(p);
    return this.#outbound.write(p, options);
  }

  /** Half-closes; resolves once the writes pending before it are done. */
  closeWrite(): Promise<void> {
    return this.#outbound.closeWrite(
      new ConnClosedError(`write after closeWrite on ${formatAddr(this.remoteAddr)}`),
    );
  }

  /** Closes both directions at once; idempotent. */
  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    const where = formatAddr(this.remoteAddr);
    this.#inbound.closeRead(
      new ConnClosedError(`read on closed connection to ${where}`),
      new ConnClosedError(`connection to ${where} closed by peer`),
    );
    this.#outbound.abortWrite(new ConnClosedError(`write on closed connection to ${where}`));
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
    return this.#readable ??= queueReadable(this.#inbound, () => this.#readCancelled());
  }

  /** The outbound bytes; chunks written are taken over without a copy. */
  get writable(): WritableStream<Uint8Array> {
    return this.#writable ??= queueWritable(this.#outbound, this);
  }

  #readCancelled(): void {
    const where = formatAddr(this.remoteAddr);
    this.#inbound.closeRead(
      new ConnClosedError(`read after readable was cancelled on ${where}`),
      new ConnClosedError(`connection to ${where}: peer stopped reading`),
    );
  }
}

function rejectBytes(p: unknown): Promise<never> {
  try {
    checkBytes(p);
  } catch (err) {
    return Promise.reject(err);
  }
  return Promise.reject(new TypeError("unreachable"));
}

/** A byte stream over a queue's reading end. */
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

/** A writable stream into a queue's writing end, taking chunks over. */
export function queueWritable(queue: ByteQueue, conn: Conn): WritableStream<Uint8Array> {
  return new WritableStream<Uint8Array>({
    write(chunk) {
      checkBytes(chunk, "chunk");
      if (chunk.buffer instanceof ArrayBuffer && chunk.buffer.detached) {
        throw new TypeError(
          "chunk's buffer was transferred: a chunk written to writable belongs to the conn, so write a copy",
        );
      }
      const done = queue.writeNow(chunk, undefined, true);
      if (typeof done !== "number") return done.then(noop);
    },
    close: () => conn.closeWrite(),
    abort: () => conn.close(),
  });
}
