/**
 * Reads yamux frames from a conn through one reused buffer: many small
 * frames per conn read, and payloads handed on in pieces as they arrive. The
 * session checks each header before it takes the payload, so a peer can make
 * it buffer no more than the windows it granted. Private to `mux/`.
 *
 * @module
 */

import type { Conn } from "../conn.ts";
import { ProtocolError } from "../errors.ts";
import { decodeHeader, type Header, HEADER_SIZE } from "./const.ts";

/** The reused read buffer's size. */
export const READ_BUFFER_SIZE = 64 * 1024;
/** When less room than this is left at the end of the buffer, the unparsed bytes move to the front. */
const MIN_ROOM = READ_BUFFER_SIZE / 4;

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

  /**
   * Up to `max` bytes of payload that are buffered already, as a view into
   * the read buffer valid until the next call; `undefined` when none are.
   * Payload is handed on in pieces as it arrives, never gathered whole, so
   * a frame costs no buffer of its own.
   */
  pieceNow(max: number): Uint8Array | undefined {
    const n = Math.min(max, this.#end - this.#start);
    if (n === 0) return undefined;
    const start = this.#start;
    this.#start += n;
    return this.#buffer.subarray(start, start + n);
  }

  /** Up to `max` bytes of the payload, waiting for them if none are buffered. */
  async piece(max: number): Promise<Uint8Array> {
    for (;;) {
      const now = this.pieceNow(max);
      if (now !== undefined) return now;
      if (!await this.#fill()) throw this.#truncated(`${max} payload bytes were still to come`);
    }
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
    } else if (buffer.byteLength - this.#end < MIN_ROOM) {
      buffer.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    const n = await this.#conn.read(buffer.subarray(this.#end));
    if (n === null) return false;
    this.#end += n;
    return true;
  }

  #truncated(detail: string): ProtocolError {
    return new ProtocolError({
      op: "receive",
      addr: this.#addr,
      detail: `frame cut short by EOF: ${detail}`,
    });
  }
}
