/**
 * Reads frames from a conn through a reused buffer, several frames per conn
 * read, and big bodies straight into a buffer of their exact size. Its state
 * lives across calls, so a read that was aborted loses nothing: the next call
 * picks up where it stood. Internal to frame.ts.
 *
 * @module
 */

import type { Conn } from "../conn.ts";
import { MessageTooLargeError, ProtocolError } from "../errors.ts";
import { type Frame, headerBytes, LENGTH_BYTES } from "./wire.ts";

/**
 * The read buffer's largest size. It starts at {@linkcode INITIAL_BUFFER},
 * takes this size once a read fills it (a stream of messages: fewer, bigger
 * reads), grows to fit a small frame that needs the room, and goes back to
 * its first size once many reads in a row used little of it and nothing is
 * left unparsed: a conn costs what its traffic needs, and an idle one little.
 */
export const READ_BUFFER_SIZE = 64 * 1024;
/** The read buffer's first size, allocated at the first read. */
export const INITIAL_BUFFER = 2 * 1024;
/** Frames up to this size (header included) are gathered in the read buffer; bigger bodies get one of their own. */
const SMALL_FRAME = READ_BUFFER_SIZE / 2;
/**
 * Reads in a row that must use under an eighth of the buffer before it
 * shrinks: enough that a stream of small records between big ones (as a
 * writer that sometimes runs ahead sends) does not make it shrink and grow
 * again and again.
 */
const SHORT_READS_TO_SHRINK = 32;
const EMPTY = new Uint8Array(0);

/** A frame whose body is being read straight into its own buffer. */
interface PartialBody {
  type: number;
  body: Uint8Array;
  filled: number;
}

/** Decodes frames; one caller at a time (the framed conn's receive lock). */
export class FrameDecoder {
  readonly #conn: Conn;
  readonly #typed: boolean;
  readonly #headerBytes: number;
  readonly #maxMessageSize: number;
  /** The peer's address, named in errors. */
  readonly #addr: string;
  /** The lowest type accepted: 1, or 0 where the layer above uses type 0. */
  readonly #minType: number;
  #buffer: Uint8Array = EMPTY;
  #view = new DataView(EMPTY.buffer);
  /** Unparsed bytes are `#buffer[#start..#end)`. */
  #start = 0;
  #end = 0;
  /** The last read filled all the room it had. */
  #filled = false;
  /** How many reads in a row used under an eighth of the buffer. */
  #shortReads = 0;
  #partial: PartialBody | null = null;

  /** A decoder for `conn`, refusing bodies over `maxMessageSize`. */
  constructor(conn: Conn, typed: boolean, maxMessageSize: number, addr: string, minType = 1) {
    this.#addr = addr;
    this.#minType = minType;
    this.#conn = conn;
    this.#typed = typed;
    this.#headerBytes = headerBytes(typed);
    this.#maxMessageSize = maxMessageSize;
  }

  /**
   * The next frame, or `null` at a clean EOF. Throws `MessageTooLargeError`
   * for a length over the maximum (before allocating anything for it) or
   * one whose buffer the host could not allocate, and
   * `ProtocolError` for a reserved type or a frame cut short by EOF. State
   * changes only after a conn read resolves, so an aborted call lost nothing.
   */
  async next(signal: AbortSignal | undefined): Promise<Frame | null> {
    for (;;) {
      const partial = this.#partial;
      if (partial !== null) {
        if (partial.filled === partial.body.byteLength) {
          this.#partial = null;
          return { type: partial.type, data: partial.body };
        }
        const n = await this.#conn.read(partial.body.subarray(partial.filled), { signal });
        if (n === null) {
          throw this.#protocolError(
            `frame cut short by EOF: ${partial.filled} of ${partial.body.byteLength} body bytes arrived`,
          );
        }
        partial.filled += n;
        continue;
      }
      const frame = this.takeBuffered();
      if (frame !== null) return frame;
      if (this.#partial !== null) continue;
      const room = this.#room();
      const n = await this.#conn.read(room, { signal });
      if (n === null) return this.#eof();
      this.#end += n;
      this.#filled = n === room.byteLength;
      this.#shortReads = n * 8 < this.#buffer.byteLength ? this.#shortReads + 1 : 0;
    }
  }

  /**
   * The next frame if it is already in the read buffer, without waiting;
   * otherwise `null` (and a big frame's body may have moved into its own
   * buffer). Throws as {@linkcode next} does for bad input.
   */
  takeBuffered(): Frame | null {
    if (this.#partial !== null) return null;
    const available = this.#end - this.#start;
    const header = this.#headerBytes;
    if (available < header) return null;
    const start = this.#start;
    const length = this.#view.getUint32(start);
    if (length > this.#maxMessageSize) {
      throw new MessageTooLargeError({
        op: "receive",
        addr: this.#addr,
        size: length,
        limit: this.#maxMessageSize,
        detail: "the peer announced it",
      });
    }
    const type = this.#typed ? this.#view.getUint32(start + LENGTH_BYTES) : 0;
    if (this.#typed && type < this.#minType) {
      throw this.#protocolError("incoming frame has the reserved message type 0");
    }
    const bodyStart = start + header;
    if (available - header >= length) {
      this.#start = bodyStart + length;
      return { type, data: this.#buffer.slice(bodyStart, bodyStart + length) };
    }
    if (header + length <= SMALL_FRAME) {
      // Gathered here: make sure the whole frame fits.
      if (header + length > this.#buffer.byteLength - start) this.#resize(header + length);
      return null;
    }
    // A big frame: its body gets a buffer of its own, filled by direct reads.
    const body = this.#allocate(length);
    body.set(this.#buffer.subarray(bodyStart, this.#end));
    this.#partial = { type, body, filled: this.#end - bodyStart };
    this.#start = this.#end = 0;
    return null;
  }

  /**
   * A body buffer of `length` bytes. The host may refuse one that the
   * maximum allows (a RangeError from the engine): that message is too large
   * here and now, which the peer's header must not turn into a crash.
   */
  #allocate(length: number): Uint8Array {
    try {
      return new Uint8Array(length);
    } catch (err) {
      throw new MessageTooLargeError({
        op: "receive",
        addr: this.#addr,
        size: length,
        limit: this.#maxMessageSize,
        detail: "the host could not allocate a buffer for it",
        cause: err,
      });
    }
  }

  /**
   * Where the next conn read goes: the free end of the buffer, which is
   * made (or grown, or shrunk back) here as the traffic asks (see
   * {@linkcode READ_BUFFER_SIZE}). Room is made first, when short, by moving
   * the unparsed tail to the front.
   */
  #room(): Uint8Array {
    if (this.#start === this.#end) {
      this.#start = this.#end = 0;
      const size = this.#buffer.byteLength;
      if (size === 0 || (this.#shortReads >= SHORT_READS_TO_SHRINK && size > INITIAL_BUFFER)) {
        this.#shortReads = 0;
        this.#resize(INITIAL_BUFFER);
      }
    }
    const size = this.#buffer.byteLength;
    if (this.#filled && size < READ_BUFFER_SIZE) {
      this.#filled = false;
      this.#resize(READ_BUFFER_SIZE);
    } else if (size - this.#end < size / 2 && this.#start > 0) {
      this.#buffer.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    if (this.#end === this.#buffer.byteLength) this.#resize(2 * this.#buffer.byteLength);
    return this.#buffer.subarray(this.#end);
  }

  /** A buffer of at least `size` bytes (a power of two), with the unparsed bytes moved to its front. */
  #resize(size: number): void {
    const wanted = Math.max(INITIAL_BUFFER, 2 ** Math.ceil(Math.log2(size)));
    const buffer = new Uint8Array(wanted);
    buffer.set(this.#buffer.subarray(this.#start, this.#end));
    this.#end -= this.#start;
    this.#start = 0;
    this.#buffer = buffer;
    this.#view = new DataView(buffer.buffer);
  }

  /** EOF with no partial body: clean between frames, a `ProtocolError` inside one. */
  #eof(): null {
    const left = this.#end - this.#start;
    if (left === 0) return null;
    throw this.#protocolError(
      left < this.#headerBytes
        ? `frame header cut short by EOF: ${left} of ${this.#headerBytes} bytes arrived`
        : `frame cut short by EOF: ${left - this.#headerBytes} of ${
          this.#view.getUint32(this.#start)
        } body bytes arrived`,
    );
  }

  #protocolError(detail: string): ProtocolError {
    return new ProtocolError({ op: "receive", addr: this.#addr, detail });
  }
}
