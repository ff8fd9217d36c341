/**
 * Reads yamux frames from a conn through one reused buffer: many small
 * frames per conn read, a big Data payload straight into a buffer of its own
 * size. The session checks each header before it asks for the payload, so a
 * peer can make it allocate no more than the windows it granted. Private to
 * `mux/`.
 *
 * @module
 */

import type { Conn } from "../conn.ts";
import { ProtocolError } from "../errors.ts";
import { decodeHeader, type Header, HEADER_SIZE } from "./const.ts";

/** The reused read buffer's size. */
export const READ_BUFFER_SIZE = 64 * 1024;
/** Payloads up to this size are gathered in the read buffer; bigger ones get a buffer of their own. */
const SMALL_PAYLOAD = READ_BUFFER_SIZE / 4;

/** Reads frames from one conn; one caller at a time (the session's receive loop). */
export class FrameReader {
  readonly #conn: Conn;
  readonly #addr: string;
  readonly #buffer = new Uint8Array(READ_BUFFER_SIZE);
  /** Unparsed bytes are `#buffer[#start..#end)`. */
  #start = 0;
  #end = 0;

  /** Reads from `conn`, whose peer `addr` names in errors. */
  constructor(conn: Conn, addr: string) {
    this.#conn = conn;
    this.#addr = addr;
  }

  /** The next header if it is buffered already, else `undefined`. */
  headerNow(): Header | undefined {
    if (this.#end - this.#start < HEADER_SIZE) return undefined;
    const header = decodeHeader(this.#buffer, this.#start);
    this.#start += HEADER_SIZE;
    return header;
  }

  /**
   * The next header, or `null` at EOF between frames. EOF inside a header is
   * a {@linkcode ProtocolError}.
   */
  async header(): Promise<Header | null> {
    while (this.#end - this.#start < HEADER_SIZE) {
      if (!await this.#fill()) {
        const left = this.#end - this.#start;
        if (left === 0) return null;
        throw this.#truncated(`${left} of ${HEADER_SIZE} header bytes arrived`);
      }
    }
    return this.headerNow()!;
  }

  /** The payload of `length` bytes if all of it is buffered, else `undefined`. */
  payloadNow(length: number): Uint8Array | undefined {
    if (this.#end - this.#start < length) return undefined;
    const start = this.#start;
    this.#start += length;
    return this.#buffer.slice(start, start + length);
  }

  /**
   * The `length` bytes of payload that follow the header just read, in a
   * buffer of their own. The caller has checked `length` against the window.
   */
  async payload(length: number): Promise<Uint8Array> {
    const now = this.payloadNow(length);
    if (now !== undefined) return now;
    if (length <= SMALL_PAYLOAD) {
      while (this.#end - this.#start < length) {
        if (!await this.#fill()) throw this.#cutShort(length);
      }
      return this.payloadNow(length)!;
    }
    const body = new Uint8Array(length);
    let filled = this.#end - this.#start;
    body.set(this.#buffer.subarray(this.#start, this.#end));
    this.#start = this.#end = 0;
    while (filled < length) {
      const n = await this.#conn.read(body.subarray(filled));
      if (n === null) throw this.#truncated(`${filled} of ${length} payload bytes arrived`);
      filled += n;
    }
    return body;
  }

  /** Reads past `length` bytes of payload, keeping none of them. */
  async skip(length: number): Promise<void> {
    let left = length;
    for (;;) {
      const buffered = Math.min(left, this.#end - this.#start);
      this.#start += buffered;
      left -= buffered;
      if (left === 0) return;
      if (!await this.#fill()) throw this.#truncated(`${length - left} of ${length} payload bytes arrived`);
    }
  }

  /** Reads more bytes into the free end of the buffer; `false` at EOF. */
  async #fill(): Promise<boolean> {
    const buffer = this.#buffer;
    if (this.#start === this.#end) {
      this.#start = this.#end = 0;
    } else if (buffer.byteLength - this.#end < SMALL_PAYLOAD + HEADER_SIZE) {
      buffer.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    const n = await this.#conn.read(buffer.subarray(this.#end));
    if (n === null) return false;
    this.#end += n;
    return true;
  }

  #cutShort(length: number): ProtocolError {
    return this.#truncated(`${this.#end - this.#start} of ${length} payload bytes arrived`);
  }

  #truncated(detail: string): ProtocolError {
    return new ProtocolError({
      op: "receive",
      addr: this.#addr,
      detail: `frame cut short by EOF: ${detail}`,
    });
  }
}
