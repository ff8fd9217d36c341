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

/** The reused read buffer's size: one conn read may fill all of it. */
export const READ_BUFFER_SIZE = 64 * 1024;

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
  readonly #buffer = new Uint8Array(READ_BUFFER_SIZE);
  readonly #view = new DataView(this.#buffer.buffer);
  /** Frames no bigger than this are gathered in the read buffer. */
  readonly #smallFrame = READ_BUFFER_SIZE / 2;
  /** Unparsed bytes are `#buffer[#start..#end)`. */
  #start = 0;
  #end = 0;
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
      const n = await this.#conn.read(this.#room(), { signal });
      if (n === null) return this.#eof();
      this.#end += n;
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
    if (header + length <= this.#smallFrame) return null;
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
   * Where the next conn read goes: the free end of the buffer. Room is made
   * first, when short, by moving the unparsed tail (less than one small
   * frame) to the front.
   */
  #room(): Uint8Array {
    const buffer = this.#buffer;
    if (this.#start === this.#end) {
      this.#start = this.#end = 0;
    } else if (buffer.byteLength - this.#end < this.#smallFrame) {
      buffer.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    return buffer.subarray(this.#end);
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
