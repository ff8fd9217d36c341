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
 *   A write the queue offers its sink (the session) is read first, in
 *   place ({@linkcode FrameReader.offer}): a header is decoded in the
 *   writer's buffer, and only the odd bytes of a frame cut short are
 *   copied into the reader's own.
 * - `conn`: any other conn, read with `read()` in big gulps (many small
 *   frames per call; a socket's read is a system call).
 *
 * @module
 */

import type { Conn } from "../conn.ts";
import type { ByteQueue } from "../byte_queue.ts";
import { ProtocolError } from "../errors.ts";
import { queuesOf } from "../_queue_access.ts";
import { giveBuffer, takeBuffer } from "../_copy_buffers.ts";
import { decodeHeader, type Header, HEADER_SIZE } from "./const.ts";

/** The reused read buffer's size: the session's own, for its life. */
export const READ_BUFFER_SIZE = 64 * 1024;
/** Queue mode: when no more than this is queued, a header read takes all of it. */
const SMALL_QUEUE = 1024;
/** Queue mode: reads of up to this many bytes into the buffer's start use a view made once. */
const SMALL_FRAME = HEADER_SIZE + 64;
/** Copies up to this size are a loop: `set` costs more than the bytes for so few. */
const SMALL_COPY = 16;
/**
 * Conn mode: while reads fill the buffer (a stream of big frames), they go
 * into one this big, from the package's pool, and back to the session's own
 * once a read gets less than that holds. Measured over a Unix socket, 64 KiB
 * frames: reads of up to 256 KiB (what the kernel holds, about) ran at
 * 1.2x the speed of reads of 64 KiB, in fewer, fuller reads and fewer pieces
 * per frame; 128 KiB and 512 KiB did less well.
 */
const STREAMING_READ = 256 * 1024;

/** Reads frames from one conn; one caller at a time (the session's receive loop). */
export class FrameReader {
  readonly #conn: Conn;
  readonly #addr: string;
  /** The conn's inbound queue, read in place, or `null` to read through `conn.read()`. */
  readonly #queue: ByteQueue | null;
  /** The session's own buffer. */
  readonly #own = new Uint8Array(READ_BUFFER_SIZE);
  /** Queue mode: views of the buffer's first bytes, by length, each made once. */
  readonly #heads: Uint8Array[] = [];
  /** The buffer read into: the session's own, or (conn mode, streaming) a bigger one from the pool. */
  #buffer: Uint8Array = this.#own;
  /** The buffer the next read goes into, as the last one showed: the same, the session's own, or a streaming one. */
  #next: Uint8Array | "streaming" = this.#own;
  /** Unparsed bytes are `#buffer[#start..#end)`. */
  #start = 0;
  #end = 0;
  /** The header last read, reused for the next. */
  readonly #header: Header = { version: 0, type: 0, flags: 0, streamId: 0, length: 0 };
  /** Whether the conn reached EOF (queue mode: seen by a read that could not wait). */
  #eof = false;
  /** Queue mode: bytes a writer offers the queue's sink, read before the queue's; `#offerAt` is where the unread ones start. */
  #offer: Uint8Array | null = null;
  #offerAt = 0;

  /** Reads from `conn`, whose peer `addr` names in errors. */
  constructor(conn: Conn, addr: string) {
    this.#conn = conn;
    this.#addr = addr;
    this.#queue = queuesOf(conn)?.inbound ?? null;
  }

  /**
   * The next header if it can be had without waiting, else `undefined`.
   * The object is the reader's own, valid until the next call.
   */
  headerNow(): Header | undefined {
    let buffered = this.#end - this.#start;
    const offer = this.#offer;
    if (offer !== null) {
      // A whole header in the writer's bytes: decoded where it is.
      const at = this.#offerAt;
      if (buffered === 0 && offer.byteLength - at >= HEADER_SIZE) {
        this.#offerAt = at + HEADER_SIZE;
        return decodeHeader(offer, at, this.#header);
      }
      if (buffered < HEADER_SIZE) buffered += this.#takeOffer(HEADER_SIZE - buffered);
    }
    const queue = this.#queue;
    // A few small frames are read whole, taking whole chunks from the queue
    // (no views made). Otherwise exactly the header: the payload behind it
    // stays where it is until the session knows where it goes. A read that
    // took some bytes but not the whole header reads again: an EOF queued
    // behind them (a peer that wrote and half-closed before the session
    // started) calls no hook of its own.
    while (buffered < HEADER_SIZE && queue !== null && !this.#eof) {
      const queued = queue.queued;
      this.#readNow(queued <= SMALL_QUEUE ? queued : HEADER_SIZE - buffered);
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
    const offer = this.#offer;
    if (this.#start === this.#end && offer !== null && this.#offerAt < offer.byteLength) {
      const at = this.#offerAt;
      const n = Math.min(max, offer.byteLength - at);
      this.#offerAt = at + n;
      return offer.subarray(at, at + n);
    }
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
    if (this.#offer !== null && this.#offerAt < this.#offer.byteLength) return true;
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
   * Copies payload bytes that are there now into `into`, from the read
   * buffer if it holds some, else (queue mode) straight from the conn's
   * queue; returns how many (0 if none are).
   */
  readInto(into: Uint8Array): number {
    const buffered = this.#end - this.#start;
    if (buffered > 0) {
      const n = Math.min(buffered, into.byteLength);
      const buffer = this.#buffer, start = this.#start;
      if (n <= SMALL_COPY) {
        for (let i = 0; i < n; i++) into[i] = buffer[start + i];
      } else {
        into.set(buffer.subarray(start, start + n));
      }
      this.#start += n;
      if (this.#start === this.#end) this.#start = this.#end = 0;
      return n;
    }
    const offer = this.#offer;
    if (offer !== null && this.#offerAt < offer.byteLength) {
      const at = this.#offerAt;
      const k = Math.min(offer.byteLength - at, into.byteLength);
      if (k <= SMALL_COPY) {
        for (let i = 0; i < k; i++) into[i] = offer[at + i];
      } else {
        into.set(offer.subarray(at, at + k));
      }
      this.#offerAt = at + k;
      return k;
    }
    if (this.#eof || this.#queue === null) return 0;
    const n = this.#queue.readNow(into);
    if (n === null) this.#eof = true;
    return n ?? 0;
  }

  /**
   * Queue mode: reads `bytes`, a write the queue offers its sink, before
   * anything queued, until {@linkcode FrameReader.endOffer}.
   */
  offer(bytes: Uint8Array): void {
    this.#offer = bytes;
    this.#offerAt = 0;
  }

  /**
   * The offer is over: returns how many of its bytes were taken. With
   * `keep`, a few bytes left (a small payload whose reader is due) are
   * taken into the buffer, as a header read takes a small queue whole.
   */
  endOffer(keep: boolean): number {
    const offer = this.#offer!;
    if (keep && offer.byteLength - this.#offerAt <= SMALL_QUEUE) this.#takeOffer(SMALL_QUEUE);
    const taken = this.#offerAt;
    this.#offer = null;
    this.#offerAt = 0;
    return taken;
  }

  /** Copies up to `max` offered bytes into the buffer's free end; returns how many. */
  #takeOffer(max: number): number {
    const offer = this.#offer!;
    const at = this.#offerAt;
    const n = Math.min(max, offer.byteLength - at);
    if (n === 0) return 0;
    const buffer = this.#buffer;
    if (buffer.byteLength - this.#end < n) {
      buffer.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    for (let i = 0; i < n; i++) buffer[this.#end + i] = offer[at + i];
    this.#end += n;
    this.#offerAt = at + n;
    return n;
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
    // The common reads, a header or a small frame into an empty buffer, have views of their own.
    const into = this.#end === 0 && max <= SMALL_FRAME
      ? this.#heads[max] ??= buffer.subarray(0, max)
      : buffer.subarray(this.#end, Math.min(this.#end + max, buffer.byteLength));
    const n = queue.readNow(into);
    if (n === null) this.#eof = true;
    else if (n !== undefined) this.#end += n;
  }

  /** Conn mode: reads more bytes into the free end of the buffer. */
  async #fill(): Promise<void> {
    if (this.#next !== this.#buffer) this.#swap();
    const buffer = this.#buffer;
    if (this.#start === this.#end) {
      this.#start = this.#end = 0;
    } else if (buffer.byteLength - this.#end < buffer.byteLength / 4) {
      buffer.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    const room = buffer.byteLength - this.#end;
    const n = await this.#conn.read(buffer.subarray(this.#end));
    if (n === null) {
      this.#eof = true;
      return;
    }
    this.#end += n;
    // A read that filled the session's own buffer: a stream, read in
    // bigger gulps from now on. One that would have fitted it: back to it.
    if (buffer === this.#own) {
      if (n === room) this.#next = "streaming";
    } else if (n < READ_BUFFER_SIZE) {
      this.#next = this.#own;
    }
  }

  /**
   * Before a read: moves the unparsed bytes (a header's start, usually) to
   * the buffer the last read asked for: a streaming one from the pool, or
   * the session's own, the streaming one going back to the pool. So a
   * session that goes quiet waits with its own.
   */
  #swap(): void {
    const from = this.#buffer;
    const unparsed = this.#end - this.#start;
    if (this.#next === this.#own && unparsed > READ_BUFFER_SIZE / 2) return;
    const to = this.#next === "streaming" ? takeBuffer(STREAMING_READ) : this.#own;
    to.set(from.subarray(this.#start, this.#end));
    this.#start = 0;
    this.#end = unparsed;
    this.#buffer = this.#next = to;
    if (from !== this.#own) giveBuffer(from);
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
