/**
 * {@linkcode ByteQueue}: one direction of a connection, the queue and
 * deadline machine that memory pipes, worker ports, mux streams and the
 * socket adapter's reading side share.
 *
 * @example
 * ```ts
 * import { ByteQueue } from "@tether/tether/transport";
 *
 * const q = new ByteQueue({ window: 4 });
 * await q.write(new Uint8Array([1, 2, 3]));
 * console.log(await q.readChunk()); // Uint8Array(3) [ 1, 2, 3 ]
 * ```
 *
 * @module
 */

import { type CallOptions, DEFAULT_BUFFER_SIZE } from "./conn.ts";
import { ConnClosedError } from "./errors.ts";
import { Fifo } from "./_async/fifo.ts";
import { WaitQueue } from "./_async/wait_queue.ts";
import { noop, type Waiter, waiter } from "./_async/waiter.ts";
import { chunkBuffer, CopyBuffers, SMALL_WRITE } from "./_copy_buffers.ts";
import { checkBufferSize, refusal } from "./_validate.ts";
import { asLazy, type LazyError } from "./_lazy.ts";

/**
 * Options of a {@linkcode ByteQueue}.
 *
 * @example
 * ```ts
 * import { ByteQueue, type ByteQueueOptions } from "@tether/tether/transport";
 *
 * let credit = 0;
 * const options: ByteQueueOptions = { window: 1024, onRead: (n) => credit += n };
 * const q = new ByteQueue(options);
 * await q.write(new Uint8Array(10));
 * await q.read(new Uint8Array(4));
 * console.log(credit); // 4
 * ```
 */
export interface ByteQueueOptions {
  /** How many bytes may be queued before writers wait; default 64 KiB. */
  window?: number;
  /**
   * Called with the number of bytes each time a reader takes bytes out: a
   * transport's cue to grant its peer that much more credit.
   */
  onRead?: (n: number) => void;
  /**
   * Called each time a writer has queued bytes (not those a sink took, see
   * {@linkcode ByteQueue.setSink}), and when the writing end closes: a pump's cue to take what is there with
   * {@linkcode ByteQueue.readChunkNow}, at once and in the same call, rather
   * than waiting in `readChunk()`. Bytes taken before `write` returns are
   * copied once, straight from the writer's buffer. It must not write to
   * the queue.
   */
  onWrite?: () => void;
  /**
   * Called with the buffer of a chunk written with
   * {@linkcode QueueWriteOptions.lend} once a reader has copied all of it
   * out (`read(p)`, `readNow`), none of it handed out: the writer may have
   * it back. A transport whose peer lent its buffers gives them back this
   * way, so that its peer copies into warm memory rather than allocating.
   */
  onReturn?: (buffer: ArrayBuffer) => void;
}

/**
 * Options of {@linkcode ByteQueue.write}.
 *
 * @example
 * ```ts
 * import { ByteQueue, type QueueWriteOptions } from "@tether/tether/transport";
 *
 * const q = new ByteQueue();
 * const options: QueueWriteOptions = { owned: true, signal: AbortSignal.timeout(100) };
 * await q.write(new Uint8Array([1]), options); // the queue may hand this very buffer to a reader
 * ```
 */
export interface QueueWriteOptions extends CallOptions {
  /**
   * The queue takes `data` over and may hand it to a reader as is, with no
   * copy; the writer must not touch it again. Otherwise it copies what it
   * keeps.
   */
  owned?: boolean;
  /**
   * With `owned`, for a chunk that is all of its buffer: the queue hands the
   * buffer to {@linkcode ByteQueueOptions.onReturn} once the chunk was
   * copied out whole, rather than dropping it.
   */
  lend?: boolean;
}

/**
 * Options of {@linkcode ByteQueue.readChunk}.
 *
 * @example
 * ```ts
 * import { ByteQueue, type ReadChunkOptions } from "@tether/tether/transport";
 *
 * const q = new ByteQueue();
 * await q.write(new Uint8Array(100));
 * const options: ReadChunkOptions = { max: 40 }; // say, the credit a peer granted
 * console.log((await q.readChunk(options))!.length); // 40
 * ```
 */
export interface ReadChunkOptions extends CallOptions {
  /** The most bytes the chunk may hold; default no limit beyond the queue's own. */
  max?: number;
}

const EMPTY = new Uint8Array(0);
/** Copies of up to this many bytes are a loop: `set` costs more than the bytes for so few. */
const SMALL_COPY = 16;
/** Owned chunks smaller than this are joined with their neighbours when read whole. */
const JOIN_BELOW = 4096;
/** How many bytes a joined chunk holds at most. */
const JOIN_UP_TO = 64 * 1024;

interface Segment {
  /** The bytes not yet read. */
  bytes: Uint8Array;
  /** Whether the queue owns `bytes` and may hand them on without a copy. */
  owned: boolean;
  /** The write still waiting on this segment, if any. */
  writer: Waiter<number> | null;
  /** The write's length, which it resolves with. */
  length: number;
  /**
   * What becomes of the buffer of `bytes` once copied out whole: `copy`, the
   * queue's own copy buffer, takes the next write; `lent` goes back to the
   * writer through `onReturn`; `none`, nothing.
   */
  reuse: "none" | "copy" | "lent";
}

/**
 * What a waiting reader brought: a buffer to copy into, or the most bytes
 * of a chunk to take; 0 only waits for something to read
 * ({@linkcode ByteQueue.whenReadable}). A value, not an object: one
 * allocation less on the path of every read that waits.
 */
type ReadRequest = Uint8Array | number;

/**
 * The queue's state, one of:
 * - `open`: writes are taken, reads served;
 * - `writeClosed`: no more writes (`writeError` for any); the reader gets
 *   what is queued, then EOF, or `endError` when the stream broke;
 * - `readClosed`: the reading end is gone: reads reject with `readError`,
 *   writes with `writeError`, nothing is queued.
 *
 * The errors are made when a call first sees them: closing a conn nobody
 * calls any more then costs no stack capture (see `_lazy.ts`).
 */
type State =
  | { readonly kind: "open" }
  | { readonly kind: "writeClosed"; readonly writeError: LazyError; endError: LazyError | null }
  | { readonly kind: "readClosed"; readonly readError: LazyError; readonly writeError: LazyError };

/** The error of a write after `closeWrite()` when the caller gave none. */
const afterCloseWrite = () => new ConnClosedError({ op: "write", detail: "after closeWrite" });

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
 * A write that meets a waiting `read(q)` copies straight into `q`; one that
 * fits the window is copied into the queue; one that does not waits, still
 * referencing the caller's buffer, until the reader has copied all of it out.
 * An idle queue holds no buffer (see `_copy_buffers.ts`).
 *
 * @example
 * ```ts
 * import { ByteQueue } from "@tether/tether/transport";
 *
 * const q = new ByteQueue({ window: 4 });
 * const writing = q.write(new Uint8Array([1, 2, 3, 4, 5, 6])); // waits: over the window
 * const buf = new Uint8Array(6);
 * console.log(await q.read(buf), await writing); // 6 6
 * ```
 */
export class ByteQueue {
  #window: number;
  #state: State = { kind: "open" };
  #segments = new Fifo<Segment>();
  #queued = 0;
  #buffers = new CopyBuffers();
  #pendingWriters = 0;
  #readers = new WaitQueue<number | Uint8Array | null, ReadRequest>();
  #onRead: ((n: number) => void) | undefined;
  #onWrite: (() => void) | undefined;
  #onReturn: ((buffer: ArrayBuffer) => void) | undefined;
  #sink: ((bytes: Uint8Array) => number) | undefined;
  /** Whether the sink is running: a write from inside it is queued, never offered. */
  #sinking = false;
  // Not Promise.withResolvers: Node 20 lacks it, and this file runs there.
  #readDone = waiter<void>();
  #writeDone = waiter<void>();

  /** Makes a queue. */
  constructor(options: ByteQueueOptions = {}) {
    this.#window = checkBufferSize(options.window ?? DEFAULT_BUFFER_SIZE, "window");
    this.#onRead = options.onRead;
    this.#onWrite = options.onWrite;
    this.#onReturn = options.onReturn;
  }

  /** How many bytes may be queued before writers wait. */
  get window(): number {
    return this.#window;
  }

  /**
   * Raises the window to `window` bytes (it never shrinks): for a transport
   * whose peer showed it takes more, so that a writer running ahead may
   * queue more before it waits.
   */
  grow(window: number): void {
    if (!(window > this.#window)) return;
    this.#window = checkBufferSize(window, "window");
    this.#settleWriters();
  }

  /** How many bytes are queued and not yet read. */
  get queued(): number {
    return this.#queued;
  }

  /** How many reads wait for bytes: a transport may hold bytes back a moment for one about to come back. */
  get waitingReads(): number {
    return this.#readers.length;
  }

  /**
   * `open` while writes are taken; `writeClosed` once the writing end
   * closed (reads go on to EOF); `readClosed` once the reading end did.
   */
  get state(): "open" | "writeClosed" | "readClosed" {
    return this.#state.kind;
  }

  /** Resolves once the reading end saw EOF or was closed. */
  get readDone(): Promise<void> {
    return this.#readDone.promise;
  }

  /** Resolves once the writing end is closed and its last write settled. */
  get writeDone(): Promise<void> {
    return this.#writeDone.promise;
  }

  /** Queues all of `data`, resolving with its length once the queue no longer needs it. */
  write(data: Uint8Array, options?: QueueWriteOptions): Promise<number> {
    const result = this.writeNow(data, options);
    return typeof result === "number" ? Promise.resolve(result) : result;
  }

  /**
   * {@linkcode ByteQueue.write}, but returns the length itself, not a
   * promise, when the write is done at once: the fast path for pumps and
   * stream sinks.
   */
  writeNow(data: Uint8Array, options?: QueueWriteOptions): number | Promise<number> {
    const refused = refusal(options);
    if (refused !== undefined) return Promise.reject(refused);
    const state = this.#state;
    if (state.kind !== "open") return Promise.reject(state.writeError());
    const length = data.byteLength;
    if (length === 0) return 0;
    // Writes from inside the sink (through other queues) are queued: what it leaves goes before them.
    let first = false;
    if (
      this.#sink !== undefined && !this.#sinking && this.#segments.length === 0 && this.#readers.length === 0
    ) {
      let taken: number;
      try {
        taken = this.#offer(data, options?.owned === true && options.lend === true && isWhole(data));
      } catch (err) {
        return Promise.reject(err);
      }
      // The reading end closed inside the sink (the consumer's conn broke): the rest is dropped, as queued bytes are.
      if (taken === length || this.#state.kind === "readClosed") return length;
      if (taken > 0) data = data.subarray(taken);
      first = this.#segments.length > 0;
    }
    const owned = options?.owned === true;
    const size = data.byteLength;
    if (!first && !owned && size <= SMALL_WRITE && this.#appendSmall(data)) {
      this.#onWrite?.();
      return length;
    }
    const reuse = owned && options?.lend === true && isWhole(data) ? "lent" : "none";
    const segment: Segment = { bytes: data, owned, writer: null, length, reuse };
    if (first) this.#segments.unshift(segment);
    else this.#segments.push(segment);
    this.#queued += size;
    if (this.#readers.length > 0) this.#feed();
    // Before the queue copies the bytes: a pump that takes them now copies them once.
    this.#onWrite?.();
    if (segment.bytes.byteLength === 0) return length;
    if (this.#pendingWriters === 0 && this.#queued <= this.#window) {
      if (!owned) {
        segment.owned = true;
        if (size <= SMALL_WRITE) {
          segment.bytes = this.#buffers.copySmall(segment.bytes);
        } else {
          segment.bytes = this.#buffers.copyLarge(segment.bytes);
          segment.reuse = "copy";
        }
      }
      return length;
    }
    const w = segment.writer = waiter<number>(options?.signal, () => this.#withdraw(segment));
    this.#pendingWriters++;
    return w.promise;
  }

  /** Reads into `p`: resolves with the count copied, or `null` at EOF. */
  read(p: Uint8Array, options?: CallOptions): Promise<number | null> {
    return this.#read(p, Infinity, options) as Promise<number | null>;
  }

  /**
   * Takes the next chunk as it was queued (no copy if the queue owns it), at
   * most `max` bytes, or `null` at EOF. The caller owns the chunk.
   */
  readChunk(options?: ReadChunkOptions): Promise<Uint8Array | null> {
    let max: number;
    try {
      max = maxOf(options);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#read(null, max, options) as Promise<Uint8Array | null>;
  }

  /**
   * Takes the next chunk if one is queued, without waiting: `undefined` when
   * the queue is empty and open, `null` at EOF. Small queued chunks come
   * joined into one, so a reader pays per batch rather than per write.
   */
  readChunkNow(max = Infinity): Uint8Array | null | undefined {
    const state = this.#state;
    if (state.kind === "readClosed") throw state.readError();
    if (this.#readers.length > 0) return undefined;
    if (this.#segments.length > 0) {
      const chunk = this.#take(null, max) as Uint8Array;
      this.#settleWriters();
      return chunk;
    }
    return this.#endNow();
  }

  /**
   * Copies queued bytes into `p` without waiting: the count, `null` at EOF,
   * `undefined` when the queue is empty and open (or readers wait). The
   * sync twin of {@linkcode ByteQueue.read}, for a pump that fills a frame
   * of its own.
   */
  readNow(p: Uint8Array): number | null | undefined {
    const state = this.#state;
    if (state.kind === "readClosed") throw state.readError();
    if (this.#readers.length > 0) return undefined;
    if (this.#segments.length > 0) {
      if (p.byteLength === 0) return 0;
      const n = this.#take(p, Infinity) as number;
      this.#settleWriters();
      return n;
    }
    return this.#endNow();
  }

  /** What a read finds in an empty queue, without waiting: EOF (`null`), the end's error (thrown), or `undefined` while open. */
  #endNow(): null | undefined {
    const state = this.#state;
    if (state.kind !== "writeClosed") return undefined;
    this.#readDone.resolve();
    if (state.endError) throw state.endError();
    return null;
  }

  /**
   * Resolves, taking nothing, once a read would not wait: bytes are queued,
   * the writing end closed, or the reading end closed while it waited (the
   * read rejects then). Rejects as a read would where it need not wait for
   * that (the reading end closed already, the stream broke, the signal
   * aborted). How a pump waits for work before it claims a buffer to read
   * into: a pump whose queue is closed under it learns of it without an
   * error made for nobody.
   */
  whenReadable(options?: CallOptions): Promise<void> {
    const refused = refusal(options);
    if (refused !== undefined) return Promise.reject(refused);
    return this.#waitReadable(options?.signal).then(noop);
  }

  #waitReadable(signal?: AbortSignal): Promise<unknown> {
    const state = this.#state;
    if (state.kind === "readClosed") return Promise.reject(state.readError());
    if (this.#readers.length === 0) {
      if (this.#segments.length > 0) return Promise.resolve();
      if (state.kind === "writeClosed") {
        return state.endError ? Promise.reject(state.endError()) : Promise.resolve();
      }
    }
    return this.#readers.wait(0, signal);
  }

  /**
   * Sets the {@linkcode ByteQueueOptions.onWrite} hook after the queue was
   * made, or removes it (`null`): for a pump that takes over the reading end
   * of a queue it did not make (a session over a conn). The hook runs inside
   * the writer's call: one that can cause writes into this queue, even
   * through others, must guard against reentry.
   */
  setOnWrite(onWrite: (() => void) | null): void {
    this.#onWrite = onWrite ?? undefined;
  }

  /**
   * Sets the queue's synchronous consumer, or removes it (`null`): for a
   * protocol layered over a conn in the same isolate (a mux session over a
   * memory pipe), which then parses its peer's bytes in the peer's own
   * write, with no copy into the queue and no promise. While nothing is
   * queued and no read waits, each write's bytes are offered to `sink`
   * before the queue keeps anything; it returns how many it took from their
   * front, 0 to take none now, and the rest is queued as usual, `onWrite`
   * told. `onRead` hears of what it took, as of any read. The queue never
   * offers while its sink runs: a write that reaches the queue from inside
   * the sink (through other queues) is queued, behind what the sink leaves
   * of the write it was offered. A sink copies what it keeps: the bytes it
   * took are the writer's again once it returns (a lent buffer it took whole
   * goes back to its lender, `onReturn`). A sink must not throw (a throw rejects the
   * write, and no byte of it is queued), and must not write to this queue,
   * close its writing end or wait in a read of it; it may close the reading
   * end, which drops the rest of the write, as it drops queued bytes.
   */
  setSink(sink: ((bytes: Uint8Array) => number) | null): void {
    this.#sink = sink ?? undefined;
  }

  /** Offers `data` to the sink; returns how many bytes it took. A lent buffer it took whole goes back. */
  #offer(data: Uint8Array, lent: boolean): number {
    this.#sinking = true;
    let taken: number;
    try {
      taken = this.#sink!(data);
    } finally {
      this.#sinking = false;
    }
    if (!(taken >= 0 && taken <= data.byteLength)) {
      throw new RangeError(
        `a sink took ${taken} bytes of ${data.byteLength}: it must return 0 to ${data.byteLength}`,
      );
    }
    // Given back before the credit, as a read that copies a lent chunk out does: the two leave together.
    if (lent && taken === data.byteLength) this.#onReturn?.(data.buffer as ArrayBuffer);
    if (taken > 0) this.#onRead?.(taken);
    return taken;
  }

  /**
   * Hands bytes to the first waiting reader straight from their source,
   * never queueing them: a transport that reads its peer's bytes in place
   * fills the reader's own buffer, saving the copy in and out of the queue.
   * `source(into)` copies at most `into.byteLength` bytes into `into` and
   * returns how many. A reader waiting in `read(p)` is given `p` (at most
   * `max` bytes of it), one waiting in `readChunk()` a new chunk of at most
   * `max` bytes (and 64 KiB), which becomes its own. Returns how many
   * bytes the reader got: 0 when no such reader waits, when bytes are
   * queued (they come first), or when the writing end is closed; the
   * transport then queues its bytes with `write` as usual. `onRead` hears of
   * the bytes as of any read.
   */
  fillReader(max: number, source: (into: Uint8Array) => number): number {
    if (this.#state.kind !== "open" || this.#segments.length > 0 || this.#readers.length === 0) return 0;
    const reader = this.#readers.first();
    const request = reader.data;
    if (request === 0) return 0; // it only waits for bytes to be queued
    const into = typeof request === "number" ? null : request;
    const most = typeof request === "number" ? request : Infinity;
    const size = into === null ? Math.min(max, most, JOIN_UP_TO) : Math.min(max, into.byteLength);
    if (!(size >= 1)) return 0;
    const target = into === null
      ? new Uint8Array(size)
      : size === into.byteLength
      ? into
      : into.subarray(0, size);
    const n = source(target);
    if (!(n > 0)) return 0;
    this.#readers.shift();
    this.#onRead?.(n);
    reader.resolve(into === null ? (n === size ? target : target.subarray(0, n)) : n);
    return n;
  }

  /**
   * No more writes: the reader sees EOF after the bytes queued and those of
   * the writes still pending, which finish first; later writes reject with
   * `error`. Resolves once the pending writes are done.
   */
  closeWrite(error: Error | (() => Error) = afterCloseWrite): Promise<void> {
    if (this.#state.kind === "open") {
      this.#state = { kind: "writeClosed", writeError: asLazy(error), endError: null };
      this.#feed();
      this.#checkWriteDone();
      this.#onWrite?.();
    }
    return this.#writeDone.promise;
  }

  /**
   * Closes the writing end at once: pending writes reject with `error` and
   * what they had not delivered is dropped; queued bytes still reach the
   * reader, then EOF, or, given `endWith`, a rejection with it: how a
   * transport says the stream broke rather than ended.
   */
  abortWrite(error: Error | (() => Error), endWith?: Error | (() => Error)): void {
    const state = this.#state;
    if (state.kind === "readClosed") return;
    const writeError = asLazy(error);
    if (state.kind === "open") {
      this.#state = { kind: "writeClosed", writeError, endError: endWith ? asLazy(endWith) : null };
    } else if (endWith && !state.endError) {
      // A stream that half-closed and then broke, before its reader saw EOF, broke.
      state.endError = asLazy(endWith);
    }
    const segments = this.#segments;
    let first = 0;
    while (first < segments.length && segments.at(first).writer === null) first++;
    if (first < segments.length) {
      for (const segment of segments.removeFrom(first)) {
        this.#queued -= segment.bytes.byteLength;
        this.#failWriter(segment, writeError);
      }
    }
    this.#feed();
    this.#checkWriteDone();
    this.#onWrite?.();
  }

  /**
   * Closes the reading end: pending and later reads reject with `readError`,
   * queued bytes are dropped, and pending and later writes reject with
   * `writeError` (the peer's EPIPE), or with the error `closeWrite` gave.
   */
  closeRead(readError: Error | (() => Error), writeError: Error | (() => Error) = readError): void {
    const state = this.#state;
    if (state.kind === "readClosed") return;
    const lazyRead = asLazy(readError);
    const lazyWrite = writeError === readError ? lazyRead : asLazy(writeError);
    this.#state = {
      kind: "readClosed",
      readError: lazyRead,
      writeError: state.kind === "writeClosed" ? state.writeError : lazyWrite,
    };
    // A pump waiting in whenReadable() is told a read would not wait now (it
    // would reject): the error is made only if it reads.
    for (const reader of this.#readers.drain()) {
      if (reader.data === 0) reader.resolve(0);
      else reader.reject(lazyRead());
    }
    for (const segment of this.#segments.removeFrom(0)) this.#failWriter(segment, lazyWrite);
    this.#queued = 0;
    this.#buffers.emptied();
    this.#readDone.resolve();
    this.#writeDone.resolve();
  }

  #read(into: Uint8Array | null, max: number, options: CallOptions | undefined): Promise<unknown> {
    const refused = refusal(options);
    if (refused !== undefined) return Promise.reject(refused);
    const state = this.#state;
    if (state.kind === "readClosed") return Promise.reject(state.readError());
    if (this.#readers.length === 0) {
      if (into !== null && into.byteLength === 0) return Promise.resolve(0);
      if (this.#segments.length > 0) {
        const result = this.#take(into, max);
        this.#settleWriters();
        return Promise.resolve(result);
      }
      if (state.kind === "writeClosed") {
        this.#readDone.resolve();
        return state.endError ? Promise.reject(state.endError()) : Promise.resolve(null);
      }
    }
    return this.#readers.wait(into ?? max, options?.signal);
  }

  /** Copies into `into`, or takes a chunk of at most `max`; the queue must not be empty. */
  #take(into: Uint8Array | null, max: number): number | Uint8Array {
    const result = into === null ? this.#takeChunk(max) : this.#copyOut(into);
    if (this.#segments.length === 0) this.#buffers.emptied();
    this.#onRead?.(typeof result === "number" ? result : result.byteLength);
    return result;
  }

  /** Serves waiting readers from the queue, or with EOF once it is empty. */
  #feed(): void {
    const readers = this.#readers;
    while (readers.length > 0) {
      if (this.#segments.length > 0) {
        const reader = readers.shift();
        const request = reader.data;
        // A reader that only waits for something to read takes nothing.
        if (request === 0) reader.resolve(0);
        else if (typeof request === "number") reader.resolve(this.#take(null, request));
        else reader.resolve(this.#take(request, Infinity));
        continue;
      }
      const state = this.#state;
      if (state.kind !== "writeClosed") break;
      if (state.endError) readers.rejectAll(state.endError());
      else for (const reader of readers.drain()) reader.resolve(null);
      this.#readDone.resolve();
    }
    this.#settleWriters();
  }

  /**
   * Appends a small write to the last segment, if nothing waits and it fits:
   * a run of small writes then costs no allocation and reads out as one chunk.
   */
  #appendSmall(data: Uint8Array): boolean {
    const segments = this.#segments;
    if (
      segments.length === 0 || this.#readers.length > 0 || this.#pendingWriters > 0 ||
      this.#queued + data.byteLength > this.#window
    ) {
      return false;
    }
    const last = segments.at(segments.length - 1);
    if (last.writer !== null) return false;
    const grown = this.#buffers.append(last.bytes, data);
    if (grown === null) return false;
    last.bytes = grown;
    this.#queued += data.byteLength;
    return true;
  }

  #copyOut(into: Uint8Array): number {
    let n = 0;
    const segments = this.#segments;
    while (n < into.byteLength && segments.length > 0) {
      const segment = segments.at(0);
      const bytes = segment.bytes;
      const k = Math.min(bytes.byteLength, into.byteLength - n);
      if (k <= SMALL_COPY) {
        for (let i = 0; i < k; i++) into[n + i] = bytes[i];
      } else {
        into.set(k === bytes.byteLength ? bytes : bytes.subarray(0, k), n);
      }
      if (k === bytes.byteLength) {
        segments.shift();
        // Copied out whole, the queue's own copy can take the next write.
        if (segment.reuse === "copy") this.#buffers.recycle(bytes);
        else if (segment.reuse === "lent") this.#onReturn?.(bytes.buffer as ArrayBuffer);
        this.#consumed(segment);
      } else {
        segment.bytes = bytes.subarray(k);
      }
      n += k;
    }
    this.#queued -= n;
    return n;
  }

  #takeChunk(max: number): Uint8Array {
    const segments = this.#segments;
    const head = segments.at(0);
    const bytes = head.bytes;
    // The tail buffer still takes writes, so what is in it is copied out, never handed out.
    if (head.owned && !this.#buffers.inTail(bytes)) {
      if (bytes.byteLength > max) {
        // A view of the front: the buffer is no longer the queue's alone to reuse or give back.
        head.reuse = "none";
        head.bytes = bytes.subarray(max);
        this.#queued -= max;
        return bytes.subarray(0, max);
      }
      if (bytes.byteLength >= JOIN_BELOW || segments.length === 1) {
        segments.shift();
        this.#queued -= bytes.byteLength;
        this.#consumed(head);
        return bytes;
      }
    }
    // A small or borrowed chunk: copy it, joined with the small ones behind it.
    let size = 0;
    for (const segment of segments) {
      size += segment.bytes.byteLength;
      if (size >= JOIN_UP_TO) break;
    }
    // At most a window's worth, so a reader never holds more than the writer could queue.
    const joined = chunkBuffer(
      Math.min(size, max, Math.max(JOIN_UP_TO, Math.min(bytes.byteLength, this.#window))),
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
      if (total > this.#window) return;
      const writer = segment.writer;
      if (writer === null) continue;
      if (!segment.owned) return;
      segment.writer = null;
      this.#pendingWriters--;
      writer.resolve(segment.length);
    }
    this.#checkWriteDone();
  }

  /** A waiting write's signal aborted: what it had not delivered leaves the queue. */
  #withdraw(segment: Segment): void {
    const i = this.#segments.indexOf(segment);
    if (i >= 0) {
      this.#segments.removeAt(i);
      this.#queued -= segment.bytes.byteLength;
    }
    segment.bytes = EMPTY;
    if (segment.writer !== null) {
      segment.writer = null;
      this.#pendingWriters--;
    }
    this.#settleWriters();
    this.#checkWriteDone();
  }

  #failWriter(segment: Segment, reason: LazyError): void {
    const writer = segment.writer;
    segment.bytes = EMPTY;
    if (writer === null) return;
    segment.writer = null;
    this.#pendingWriters--;
    writer.reject(reason());
  }

  #checkWriteDone(): void {
    if (this.#state.kind !== "open" && this.#pendingWriters === 0) this.#writeDone.resolve();
  }
}

/** Whether `chunk` is all of an `ArrayBuffer`. */
function isWhole(chunk: Uint8Array): boolean {
  return chunk.byteOffset === 0 && chunk.buffer instanceof ArrayBuffer &&
    chunk.byteLength === chunk.buffer.byteLength;
}

function maxOf(options: ReadChunkOptions | undefined): number {
  const max = options?.max;
  if (max === undefined) return Infinity;
  if (typeof max !== "number" || !(max >= 1)) {
    throw new RangeError(`max must be at least 1 byte, got ${max}`);
  }
  return Math.floor(max);
}
