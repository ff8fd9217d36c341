/**
 * Writes frames to a conn: small ones as a single write of header and body
 * through a reused buffer, big ones as the header then the caller's bytes,
 * uncopied. Internal to frame.ts.
 *
 * @module
 */

import type { Conn } from "../conn.ts";
import { type Frame, headerBytes, LENGTH_BYTES } from "./wire.ts";

/**
 * Frames up to this size (header included) are copied into one buffer and
 * written at once; the copy costs less than a second write there. Bigger
 * bodies go out as they are.
 */
export const COALESCE_LIMIT = 16 * 1024;

/** Encodes and writes frames; one caller at a time (the framed conn's send lock). */
export class FrameEncoder {
  readonly #conn: Conn;
  readonly #typed: boolean;
  readonly #headerBytes: number;
  /**
   * Reused across writes: a conn never keeps a buffer passed to `write` once
   * the write settles (the Conn contract), so the next frame may refill it.
   */
  #scratch: Uint8Array | null = null;
  #view: DataView | null = null;

  /** An encoder for `conn`, with typed headers or not. */
  constructor(conn: Conn, typed: boolean) {
    this.#conn = conn;
    this.#typed = typed;
    this.#headerBytes = headerBytes(typed);
  }

  /**
   * Writes one frame. If this rejects, a prefix of the frame may have been
   * written: the caller must not write another frame after it.
   */
  write(frame: Frame, signal: AbortSignal | undefined): Promise<unknown> {
    const size = this.#headerBytes + frame.data.byteLength;
    const coalesce = size <= COALESCE_LIMIT;
    if (this.#scratch === null) {
      this.#scratch = new Uint8Array(COALESCE_LIMIT);
      this.#view = new DataView(this.#scratch.buffer);
    }
    const scratch = this.#scratch, view = this.#view!;
    view.setUint32(0, frame.data.byteLength);
    if (this.#typed) view.setUint32(LENGTH_BYTES, frame.type);
    if (coalesce) {
      scratch.set(frame.data, this.#headerBytes);
      return this.#conn.write(scratch.subarray(0, size), { signal });
    }
    return this.#conn.write(scratch.subarray(0, this.#headerBytes), { signal })
      .then(() => this.#conn.write(frame.data, { signal }));
  }
}
