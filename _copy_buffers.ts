/**
 * Where a {@linkcode ByteQueue} keeps copies of the bytes it queues: the
 * queue's whole allocation policy, in one piece.
 *
 * - A small write (up to 1 KiB) is copied into a tail buffer of 16 KiB, one
 *   after another, and a run of them reads out as one chunk; the tail starts
 *   over from the top once everything in it was read.
 * - A bigger write is copied into a spare buffer (the last copy a reader
 *   finished with) when it fits, else into a new one sized to a power of two.
 * - Once a queue holds nothing, its spare goes back to a pool shared by every
 *   queue, bounded at {@linkcode POOL_LIMIT} bytes, and so does its tail,
 *   though not at once: a queue that keeps being filled and read empty would
 *   hand its tail back and take it again at every turn. Its tail starts over
 *   from the top, and the queue is put on a short list that is swept every
 *   {@linkcode SWEEP_EVERY} times any queue is read empty: those still empty
 *   then give their tail back. So an idle conn holds no buffer (as Go's
 *   `net.Pipe` holds none between writes), but for the few read empty last
 *   (at most 64 tails, 1 MiB), and a busy one allocates nothing.
 *
 * Buffers only ever come back to the pool from a queue that copied them out
 * itself: a chunk handed to a reader whole is the reader's, never reused.
 * Private to the package.
 *
 * @module
 */

/** Writes this small are copied into the tail buffer. */
export const SMALL_WRITE = 1024;
/** The size of a tail buffer. */
const TAIL_SIZE = 16 * 1024;
/** The smallest copy buffer. */
const MIN_COPY = 4096;
/** The smallest buffer the pool keeps: what `secure()`'s records take for a small record. */
const MIN_POOLED = 1024;
/** Copy buffers up to this size come in powers of two and are pooled; bigger ones are exact and not. */
const MAX_POOLED = 1024 * 1024;
/** The most bytes the shared pool holds; what would go over is left to the garbage collector. */
export const POOL_LIMIT = 4 * 1024 * 1024;

/**
 * Free buffers, shared by every queue in this isolate: one list per power
 * of two, indexed by its exponent, holding whole-buffer views so that
 * taking one allocates nothing.
 */
const pool: Uint8Array[][] = [];
let pooledBytes = 0;

/** The index of a power-of-two size in `pool`. */
function classOf(size: number): number {
  return 31 - Math.clz32(size);
}

/**
 * A buffer of `size` bytes (a power of two, up to 1 MiB, to come from the
 * pool), from the pool when it has one: for a writer in the package that
 * needs a big buffer only while busy. Give it back with
 * {@linkcode giveBuffer} once done with it.
 */
export function takeBuffer(size: number): Uint8Array {
  return take(size);
}

/** Gives a buffer from {@linkcode takeBuffer} back to the pool (or to the garbage collector, if full). */
export function giveBuffer(buffer: Uint8Array): void {
  give(buffer);
}

/**
 * A new chunk of exactly `size` bytes for a reader to own: from the pool when
 * `size` is a pooled size (a power of two from 4 KiB to 1 MiB), so that
 * buffers a transport's peer gave back (see `ByteQueueOptions.onReturn`) are
 * filled again rather than new memory.
 */
export function chunkBuffer(size: number): Uint8Array {
  return size >= MIN_COPY && size <= MAX_POOLED && (size & (size - 1)) === 0
    ? take(size)
    : new Uint8Array(size);
}

/** The buffers the pool handed out or made for it: see {@linkcode fromPool}. */
const ours = new WeakSet<ArrayBuffer>();

function take(size: number): Uint8Array {
  let buffer = pool[classOf(size)]?.pop();
  if (buffer === undefined) {
    buffer = new Uint8Array(size);
    ours.add(buffer.buffer as ArrayBuffer);
  } else {
    pooledBytes -= size;
  }
  return buffer;
}

/**
 * Whether `chunk` lives in a buffer the pool made (a queue's copy, a chunk
 * from {@linkcode chunkBuffer}), rather than one a writer brought: memory
 * worth giving back to the pool once a peer is done with it.
 */
export function fromPool(chunk: Uint8Array): boolean {
  return ours.has(chunk.buffer as ArrayBuffer);
}

/** Returns a whole-buffer view to the pool, if it is a pooled size and there is room. */
function give(buffer: Uint8Array): void {
  const size = buffer.byteLength;
  // Not below the smallest size a writer in the package takes (secure records take 1 KiB): anything smaller,
  // empty buffers included (a peer may give back anything), would only cost room.
  if (
    size < MIN_POOLED || size > MAX_POOLED || pooledBytes + size > POOL_LIMIT || (size & (size - 1)) !== 0
  ) {
    return;
  }
  ours.add(buffer.buffer as ArrayBuffer);
  (pool[classOf(size)] ??= []).push(buffer);
  pooledBytes += size;
}

/** How many times queues are read empty between two sweeps of {@linkcode drained}. */
export const SWEEP_EVERY = 64;
/** Queues read empty since the last sweep that still hold a tail. */
let drained: CopyBuffers[] = [];

/** Takes back the tails of the queues on the list that are still empty; empties the list. */
function sweep(): void {
  const list = drained;
  drained = [];
  for (const buffers of list) buffers.swept();
}

/** The size of the copy buffer for `length` bytes. */
function copySize(length: number): number {
  if (length > MAX_POOLED) return length;
  let size = MIN_COPY;
  while (size < length) size *= 2;
  return size;
}

/** How many bytes the shared pool holds now; for tests and measurements. */
export function pooled(): number {
  return pooledBytes;
}

/** One queue's copy buffers. */
export class CopyBuffers {
  #tail: Uint8Array | null = null;
  #tailUsed = 0;
  #spare: Uint8Array | null = null;
  /**
   * Whether this queue is on the sweep list (`unlisted` otherwise), and if
   * so whether it is still `empty` or was `filled` again since.
   */
  #standing: "unlisted" | "empty" | "filled" = "unlisted";

  /**
   * Appends a small write to `last`, the queue's last chunk, when `last` is a
   * copy in the tail buffer ending where its free room starts: returns the
   * grown chunk, or `null` when it can't.
   */
  append(last: Uint8Array, data: Uint8Array): Uint8Array | null {
    const tail = this.#tail;
    if (
      tail === null || last.buffer !== tail.buffer || last.byteOffset + last.byteLength !== this.#tailUsed ||
      this.#tailUsed + data.byteLength > tail.byteLength
    ) {
      return null;
    }
    tail.set(data, this.#tailUsed);
    this.#tailUsed += data.byteLength;
    return new Uint8Array(tail.buffer, last.byteOffset, last.byteLength + data.byteLength);
  }

  /** A copy of a small write in the tail buffer, starting a new one when it is full. */
  copySmall(data: Uint8Array): Uint8Array {
    if (this.#standing === "empty") this.#standing = "filled";
    if (this.#tail === null || this.#tailUsed + data.byteLength > this.#tail.byteLength) {
      this.#tail = take(TAIL_SIZE);
      this.#tailUsed = 0;
    }
    const copy = this.#tail.subarray(this.#tailUsed, this.#tailUsed + data.byteLength);
    copy.set(data);
    this.#tailUsed += data.byteLength;
    return copy;
  }

  /** A copy of a bigger write, in the spare buffer if it fits. */
  copyLarge(data: Uint8Array): Uint8Array {
    const spare = this.#spare;
    let buffer: Uint8Array;
    if (spare !== null && spare.byteLength >= data.byteLength) {
      this.#spare = null;
      buffer = spare;
    } else {
      buffer = take(copySize(data.byteLength));
    }
    const copy = buffer.subarray(0, data.byteLength);
    copy.set(data);
    return copy;
  }

  /** Whether `chunk` lives in the tail buffer, which later writes still fill: copy it out, never hand it out. */
  inTail(chunk: Uint8Array): boolean {
    return this.#tail !== null && chunk.buffer === this.#tail.buffer;
  }

  /** A copy made by {@linkcode copyLarge} was read out whole: its buffer may take the next write. */
  recycle(copy: Uint8Array): void {
    const buffer = copy.buffer as ArrayBuffer;
    if (buffer.byteLength < MIN_COPY || buffer.byteLength > MAX_POOLED) return;
    if (this.#spare !== null) give(this.#spare);
    this.#spare = new Uint8Array(buffer);
  }

  /**
   * The queue holds no bytes: its spare goes back to the shared pool, its
   * tail starts over and goes back at the next sweep if it is still unused.
   */
  emptied(): void {
    if (this.#spare !== null) {
      give(this.#spare);
      this.#spare = null;
    }
    if (this.#tail === null) return;
    this.#tailUsed = 0;
    if (this.#standing === "unlisted") drained.push(this);
    this.#standing = "empty";
    if (drained.length >= SWEEP_EVERY) sweep();
  }

  /** The sweep came by: a tail still unused since the queue was read empty goes back to the pool. */
  swept(): void {
    if (this.#standing === "empty" && this.#tail !== null) {
      give(this.#tail);
      this.#tail = null;
      this.#tailUsed = 0;
    }
    this.#standing = "unlisted";
  }
}
