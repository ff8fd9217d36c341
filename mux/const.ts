/**
 * The yamux wire format, as hashicorp/yamux's `spec.md` defines it (see
 * `PROTOCOL.md` beside this file): a 12-byte big-endian header, then, for
 * Data frames only, `length` bytes of payload.
 *
 * ```
 * | version u8 | type u8 | flags u16 | stream id u32 | length u32 |
 * ```
 *
 * @module
 */

/** The only protocol version there is. */
export const VERSION = 0;
/** Bytes in a frame header. */
export const HEADER_SIZE = 12;

/** Frame types; what `length` means depends on it. */
export const Type = {
  /** Stream bytes: `length` of them follow the header. */
  Data: 0,
  /** Adds `length` bytes of credit to the sender's window; no payload. */
  WindowUpdate: 1,
  /** A session ping (SYN) or its answer (ACK); `length` is an opaque value echoed back. */
  Ping: 2,
  /** Ends the session; `length` is a {@linkcode GoAwayCode}. */
  GoAway: 3,
} as const;

/** Flag bits, any of which may ride on a Data or WindowUpdate frame. */
export const Flag = {
  /** Opens a stream; on a Ping, asks for an answer. */
  SYN: 0x1,
  /** Accepts a stream; on a Ping, is the answer. */
  ACK: 0x2,
  /** Half-closes: the sender sends no more on this stream. */
  FIN: 0x4,
  /** Resets the stream at once, both ways. */
  RST: 0x8,
} as const;

/** Every flag bit the spec defines; any other bit set is a protocol error. */
export const KNOWN_FLAGS = Flag.SYN | Flag.ACK | Flag.FIN | Flag.RST;

/** GoAway codes. */
export const GoAwayCode = {
  /** The sender accepts no new streams; the ones open go on. */
  Normal: 0,
  /** The receiver broke the protocol; the session is over. */
  ProtocolError: 1,
  /** The sender failed; the session is over. */
  InternalError: 2,
} as const;

/** The window every stream starts with, both ways, before any WindowUpdate. */
export const INITIAL_WINDOW = 256 * 1024;
/** The largest value a 32-bit field (a length, a window) can hold. */
export const MAX_UINT32 = 0xffff_ffff;

/** One decoded header. */
export interface Header {
  /** The protocol version (0). */
  version: number;
  /** One of {@linkcode Type}. */
  type: number;
  /** A bit set of {@linkcode Flag}. */
  flags: number;
  /** The stream (0 for the session: Ping, GoAway). */
  streamId: number;
  /** Payload bytes (Data), window delta (WindowUpdate), opaque value (Ping) or code (GoAway). */
  length: number;
}

/** Writes a header into `into` at `at`. */
export function encodeHeader(
  into: Uint8Array,
  at: number,
  type: number,
  flags: number,
  streamId: number,
  length: number,
): void {
  into[at] = VERSION;
  into[at + 1] = type;
  into[at + 2] = flags >>> 8;
  into[at + 3] = flags & 0xff;
  into[at + 4] = streamId >>> 24;
  into[at + 5] = (streamId >>> 16) & 0xff;
  into[at + 6] = (streamId >>> 8) & 0xff;
  into[at + 7] = streamId & 0xff;
  into[at + 8] = length >>> 24;
  into[at + 9] = (length >>> 16) & 0xff;
  into[at + 10] = (length >>> 8) & 0xff;
  into[at + 11] = length & 0xff;
}

/**
 * Reads the header at `at` of `bytes`, which must hold 12 bytes from there,
 * into `into` (a reader reuses one, allocating nothing per frame).
 */
export function decodeHeader(
  bytes: Uint8Array,
  at: number,
  into: Header = { version: 0, type: 0, flags: 0, streamId: 0, length: 0 },
): Header {
  into.version = bytes[at];
  into.type = bytes[at + 1];
  into.flags = (bytes[at + 2] << 8) | bytes[at + 3];
  into.streamId = ((bytes[at + 4] << 24) | (bytes[at + 5] << 16) | (bytes[at + 6] << 8) | bytes[at + 7]) >>>
    0;
  into.length = ((bytes[at + 8] << 24) | (bytes[at + 9] << 16) | (bytes[at + 10] << 8) | bytes[at + 11]) >>>
    0;
  return into;
}

/** A header as text, for error messages: `Data[SYN|FIN] stream 3 length 10`. */
export function describeHeader(header: Header): string {
  const type = Object.entries(Type).find(([, v]) => v === header.type)?.[0] ?? `type ${header.type}`;
  const flags = Object.entries(Flag).filter(([, bit]) => header.flags & bit).map(([name]) => name);
  const what = header.type === Type.Data ? "length" : header.type === Type.WindowUpdate ? "delta" : "value";
  return `${type}${
    flags.length > 0 ? `[${flags.join("|")}]` : ""
  } stream ${header.streamId} ${what} ${header.length}`;
}
