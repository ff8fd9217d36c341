/**
 * Reads yamux frames from a conn through one reused buffer, handing
 * payloads on in pieces as they arrive. The session checks each header
 * before it takes the payload, so a peer can make it buffer no more than the
 * windows it granted. Private to `mux/`.
 *
 * Two ways to read, by what the conn is:
 * - `queue`: a `QueueConn` (a memory pipe, `secure()`, another mux's
 *   stream). Its inbound queue is read without waiting whenever it holds
 *   bytes, and exactly as many as the frame needs: a header alone, then a
 *   payload that can go straight into the stream reader's own buffer
 *   ({@linkcode FrameReader.readInto}), one copy from the sender's bytes.
 * - `conn`: any other conn, read with `read()` in big gulps (many small
 *   frames per call; a socket's read is a system call).
 *
 * @module
 */

import type { Conn } from "../conn.ts";
import type { ByteQueue } from "../byte_queue.ts";
import { ProtocolError } from "../errors.ts";
import { queuesOf } from "../_queue_access.ts";
import { decodeHeader, type Header, HEADER_SIZE } from "./const.ts";

/** The reused read buffer's size. */
export const READ_BUFFER_SIZE = 64 * 1024;
/** When less room than this is left at the end of the buffer, the unparsed bytes move to the front. */
const MIN_ROOM = READ_BUFFER_SIZE / 4;

/** Reads frames from one conn; one caller at a time (the session's receive loop). */
export class FrameReader {
  readonly #conn: Conn;
  readonly #addr: string;
  /** The conn's inbound queue, read in place, or `null` to read through `conn.read()`. */
  readonly #queue: ByteQueue | null;
  readonly #buffer = new Uint8Array(READ_BUFFER_SIZE);
  readonly #headerView = this.#buffer.subarray(0, HEADER_SIZE);
  /** Unparsed bytes are `#buffer[#start..#end)`. */
  #start = 0;
  #end = 0;
  /** The header last read, reused for the next. */
  readonly #header: Header = { version: 0, type: 0, flags: 0, streamId: 0, length: 0 };
  /** Whether the conn reached EOF (queue mode: seen by a read that could not wait). */
  #eof = false;

  /** Reads from `conn`, whose peer `addr` names in errors. */
  constructor(conn: Conn, addr: string) {
    this.#conn = conn;
    this.#addr = addr;
    this.#queue = queuesOf(conn)?.inbound ?? null;
  }

  /** Whether payloads can be read straight into another buffer with {@linkcode FrameReader.readInto}. */
  get direct(): boolean {
    return this.#queue !== null;
  }

  /**
   * The next header if it can be had without waiting, else `undefined`.
   * The object is the reader's own, valid until the next call.
   */
  headerNow(): Header | undefined {
    let buffered = this.#end - this.#start;
    // Exactly the header: the payload behind it stays where it is until the
    // session knows where it goes. A read that took some bytes but not the
    // whole header reads again: an EOF queued behind them (a peer that wrote
    // and half-closed before the session started) calls no hook of its own.
    while (buffered < HEADER_SIZE && this.#queue !== null && !this.#eof) {
      this.#readNow(HEADER_SIZE - buffered);
      const now = this.#end - this.#start;
      if (now === buffered) break;
      buffered = now;
    }
    if (buffered < HEADER_SIZE) return undefined;
    const header = decodeHeader(this.#buffer, this.#start, this.#header);
    this.#start += HEADER_SIZE;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    return header;
  }

  /**
   * At EOF: throws a
   * {@linkcode ProtocolError} if it cut a header short.
   */
  checkEnd(): void {
    const left = this.#end - this.#start;
    if (left > 0) throw this.truncated(`${left} of ${HEADER_SIZE} header bytes arrived`);
  }

  /**
   * Up to `max` bytes of payload that can be had without waiting, as a view
   * into the read buffer valid until the next call; `undefined` when none
   * can. Payload is handed on in pieces as it arrives, never gathered whole,
   * so a frame costs no buffer of its own.
   */
  pieceNow(max: number): Uint8Array | undefined {
    if (this.#start === this.#end && this.#queue !== null) this.#readNow(max);
    const n = Math.min(max, this.#end - this.#start);
    if (n === 0) return undefined;
    const start = this.#start;
    this.#start += n;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    return this.#buffer.subarray(start, start + n);
  }

  /**
   * Whether a read that does not wait could get anything (bytes, or news
   * of the end): `false` means don't bother. Conn mode: bytes buffered.
   */
  get ready(): boolean {
    if (this.#end > this.#start) return true;
    const queue = this.#queue;
    return queue !== null && !this.#eof && (queue.queued > 0 || queue.state !== "open");
  }

  /** Whether the conn reached its end: nothing more will come. */
  get eof(): boolean {
    return this.#eof;
  }

  /**
   * Conn mode: reads more bytes, or EOF (see {@linkcode FrameReader.eof});
   * the calls that do not wait then hand them on. (A queue tells its
   * listener when bytes come instead.)
   */
  more(): Promise<void> {
    return this.#eof ? Promise.resolve() : this.#fill();
  }

  /**
   * Queue mode: copies payload bytes that are there now into `into`, from
   * the read buffer if it holds some, else straight from the conn's queue;
   * returns how many (0 if none are).
   */
  readInto(into: Uint8Array): number {
    const buffered = this.#end - this.#start;
    if (buffered > 0) {
      const n = Math.min(buffered, into.byteLength);
      into.set(this.#buffer.subarray(this.#start, this.#start + n));
      this.#start += n;
      if (this.#start === this.#end) this.#start = this.#end = 0;
      return n;
    }
    if (this.#eof) return 0;
    const n = this.#queue!.readNow(into);
    if (n === null) this.#eof = true;
    return n ?? 0;
  }

  /** Queue mode: reads up to `max` bytes into the buffer's free end, if there are any now. */
  #readNow(max: number): void {
    const queue = this.#queue!;
    // Nothing there (the usual answer after a frame): no view made to learn it.
    if (this.#eof || (queue.queued === 0 && queue.state === "open")) return;
    const buffer = this.#buffer;
    if (buffer.byteLength - this.#end < max && this.#start > 0) {
      buffer.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    // The common read, a whole header into an empty buffer, has a view of its own.
    const into = this.#end === 0 && max === HEADER_SIZE
      ? this.#headerView
      : buffer.subarray(this.#end, Math.min(this.#end + max, buffer.byteLength));
    const n = queue.readNow(into);
    if (n === null) this.#eof = true;
    else if (n !== undefined) this.#end += n;
  }

  /** Conn mode: reads more bytes into the free end of the buffer. */
  async #fill(): Promise<void> {
    const buffer = this.#buffer;
    if (this.#start === this.#end) {
      this.#start = this.#end = 0;
    } else if (buffer.byteLength - this.#end < MIN_ROOM) {
      buffer.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    const n = await this.#conn.read(buffer.subarray(this.#end));
    if (n === null) this.#eof = true;
    else this.#end += n;
  }

  /** The error for EOF inside a frame; `detail` says where. */
  truncated(detail: string): ProtocolError {
    return new ProtocolError({
      op: "receive",
      addr: this.#addr,
      detail: `frame cut short by EOF: ${detail}`,
    });
  }
}
