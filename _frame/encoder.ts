/**
 * Writes frames to a conn, whole: small ones as a single write of header and
 * body through a reused buffer, big ones as the header then the body. A
 * frame, once started, is always finished; the caller's signal only lets go
 * of the caller's buffer. Internal to frame.ts.
 *
 * @module
 */

import type { Conn } from "../conn.ts";
import { onAbort, type Waiter, waiter } from "../_async/waiter.ts";
import { type Frame, headerBytes, LENGTH_BYTES } from "./wire.ts";

/**
 * Frames up to this size (header included) are copied into one buffer and
 * written at once; the copy costs less than a second write there. Bigger
 * bodies go out as they are, or staged (below).
 */
export const COALESCE_LIMIT = 16 * 1024;

/** The scratch buffer's first size. */
const MIN_SCRATCH = 256;

/**
 * A big body sent with a signal goes out through a reused buffer, pieces of
 * this size at a time (the first one after the header), so that the conn never holds the caller's bytes
 * and an abort can hand the caller its buffer back at once.
 */
export const STAGE_SIZE = 64 * 1024;

/**
 * Small frames sent while a write is in flight wait in a batch of up to
 * this many bytes, to go out together in one conn write once it is done:
 * one syscall for many messages when the writer runs ahead of the conn.
 */
export const BATCH_SIZE = 64 * 1024;

/** Frames gathered for one conn write, and the promise their sends share. */
export interface Batch {
  /** The frames, back to back. */
  bytes: Uint8Array;
  /** Settles the sends whose frames are in it. */
  done: Waiter<void>;
}

/** Encodes and writes frames; one caller at a time (the framed conn's send lock). */
export class FrameEncoder {
  readonly #conn: Conn;
  readonly #typed: boolean;
  readonly #headerBytes: number;
  /**
   * Reused across writes: a conn never keeps a buffer passed to `write` once
   * the write settles (the Conn contract), so the next frame may refill it.
   * It grows to what small frames need, and to a header and
   * {@linkcode STAGE_SIZE} once a big body is staged.
   */
  #scratch: Uint8Array | null = null;
  #view: DataView | null = null;
  /** The batch being filled, its length, and the promise of its sends. */
  #batch: Uint8Array | null = null;
  #batchLength = 0;
  #batchDone: Waiter<void> | null = null;
  /** The other batch buffer, free once the batch written from it is done. */
  #spare: Uint8Array | null = null;

  /** An encoder for `conn`, with typed headers or not. */
  constructor(conn: Conn, typed: boolean) {
    this.#conn = conn;
    this.#typed = typed;
    this.#headerBytes = headerBytes(typed);
  }

  /**
   * Writes one whole frame; settles once the conn has taken all of it. It
   * rejects only if the conn fails, and then a prefix of the frame may have
   * been written: the caller must not write another frame after it.
   *
   * `signal` never cuts the frame. Once it aborts, the encoder no longer
   * reads `frame.data` (what was not yet written is copied first), so the
   * caller may take its buffer back while the frame finishes.
   */
  write(frame: Frame, signal: AbortSignal | undefined): Promise<unknown> {
    const size = this.#headerBytes + frame.data.byteLength;
    if (size <= COALESCE_LIMIT) {
      const scratch = this.#header(frame, size);
      scratch.set(frame.data, this.#headerBytes);
      return this.#conn.write(scratch.subarray(0, size));
    }
    if (signal === undefined) {
      // Nothing can abort this send, so the body goes out uncopied.
      const header = this.#header(frame, this.#headerBytes).subarray(0, this.#headerBytes);
      return this.#conn.write(header).then(() => this.#conn.write(frame.data));
    }
    return this.#writeStaged(frame, signal);
  }

  /**
   * Copies a small frame into the batch, if it fits, and returns the promise
   * its send shares with the others there (settled by whoever writes the
   * batch); `null` if it does not fit. The caller holds no lock: it must
   * only call this while another write is in flight, with nobody in line.
   */
  append(frame: Frame): Promise<void> | null {
    const size = this.#headerBytes + frame.data.byteLength;
    if (size > COALESCE_LIMIT || this.#batchLength + size > BATCH_SIZE) return null;
    const batch = this.#batch ??= this.#spare ?? new Uint8Array(BATCH_SIZE);
    if (batch === this.#spare) this.#spare = null;
    const at = this.#batchLength;
    const view = new DataView(batch.buffer, at);
    view.setUint32(0, frame.data.byteLength);
    if (this.#typed) view.setUint32(LENGTH_BYTES, frame.type);
    batch.set(frame.data, at + this.#headerBytes);
    this.#batchLength = at + size;
    return (this.#batchDone ??= waiter<void>()).promise;
  }

  /** Takes the batch to write, if any frames wait in it; hand its bytes back with `recycle`. */
  takeBatch(): Batch | null {
    if (this.#batchLength === 0) return null;
    const batch = { bytes: this.#batch!.subarray(0, this.#batchLength), done: this.#batchDone! };
    this.#batch = null;
    this.#batchLength = 0;
    this.#batchDone = null;
    return batch;
  }

  /** A batch's buffer, written: it may hold the next batch. */
  recycle(bytes: Uint8Array): void {
    this.#spare = new Uint8Array(bytes.buffer);
  }

  /**
   * Writes a big frame through the scratch buffer, header and first piece
   * together. On abort, the part of the body not yet staged is copied once,
   * and written from that copy.
   */
  async #writeStaged(frame: Frame, signal: AbortSignal): Promise<void> {
    const scratch = this.#header(frame, this.#headerBytes + STAGE_SIZE);
    let source = frame.data;
    /** Bytes of `source` before this were staged (handed to the conn). */
    let at = 0;
    const detach = () => {
      source = source.slice(at);
      at = 0;
    };
    if (signal.aborted) detach();
    const unwatch = onAbort(signal, detach);
    try {
      let offset = this.#headerBytes;
      while (source === frame.data && at < source.byteLength) {
        const n = Math.min(scratch.byteLength - offset, source.byteLength - at);
        scratch.set(source.subarray(at, at + n), offset);
        at += n;
        await this.#conn.write(scratch.subarray(0, offset + n));
        offset = 0;
      }
      // Detached: the rest is our own copy, written as is.
      if (at < source.byteLength) await this.#conn.write(source.subarray(at));
    } finally {
      unwatch();
    }
  }

  /**
   * The scratch buffer, at least `size` bytes, with `frame`'s header at its
   * start. It grows in powers of two to what the frames need, so a conn of
   * small messages keeps a small one.
   */
  #header(frame: Frame, size: number): Uint8Array {
    if (this.#scratch === null || this.#scratch.byteLength < size) {
      this.#scratch = new Uint8Array(
        size > COALESCE_LIMIT ? size : Math.max(MIN_SCRATCH, 2 ** Math.ceil(Math.log2(size))),
      );
      this.#view = new DataView(this.#scratch.buffer);
    }
    const scratch = this.#scratch, view = this.#view!;
    view.setUint32(0, frame.data.byteLength);
    if (this.#typed) view.setUint32(LENGTH_BYTES, frame.type);
    return scratch;
  }
}
