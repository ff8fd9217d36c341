/**
 * The frame header layout shared by the encoder and the decoder; the spec
 * itself is written down in frame.ts. Internal to frame.ts.
 *
 * @module
 */

/** Bytes of the big-endian length field that starts every frame. */
export const LENGTH_BYTES = 4;
/** Bytes of the big-endian type field that follows it in typed frames. */
export const TYPE_BYTES = 4;
/** The largest length or type the 32-bit fields can carry. */
export const MAX_UINT32 = 0xffff_ffff;

/** One decoded or to-be-encoded frame; `type` is 0 in untyped frames. */
export interface Frame {
  /** The message type (typed frames), or 0. */
  type: number;
  /** The message bytes. */
  data: Uint8Array;
}

/** The header size of a frame: the length, then the type if typed. */
export function headerBytes(typed: boolean): number {
  return typed ? LENGTH_BYTES + TYPE_BYTES : LENGTH_BYTES;
}
