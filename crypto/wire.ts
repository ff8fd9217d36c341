/**
 * The wire format of a secure conn: every handshake message and every
 * transport record is a 2-byte big-endian length, then that many bytes (as
 * libp2p-noise does), so a message is at most 65535 bytes.
 *
 * @module
 */

import type { CallOptions, Conn } from "../conn.ts";
import { ProtocolError } from "../errors.ts";
import { connWhere } from "../_where.ts";
import { noop } from "../_async/waiter.ts";

/** The largest body a length prefix can announce. */
export const MAX_BODY_LENGTH = 0xffff;

/** A frame reader's buffer until a bigger frame needs the full one. */
const INITIAL_BUFFER = 4096;
const FULL_BUFFER = 2 * (2 + MAX_BODY_LENGTH);

/**
 * Prefixes `body` with `length` (and that with `lead`, if given): its own
 * length by default, the whole frame's when `body` is only its start, whose
 * rest is written after.
 */
export function encodeFrame(body: Uint8Array, lead?: Uint8Array, length: number = body.length): Uint8Array {
  if (length > MAX_BODY_LENGTH) {
    throw new RangeError(`a frame body is at most ${MAX_BODY_LENGTH} bytes, got ${length}`);
  }
  if (length < body.length) {
    throw new RangeError(`a frame of ${length} bytes cannot start with ${body.length}`);
  }
  const at = lead?.length ?? 0;
  const frame = new Uint8Array(at + 2 + body.length);
  if (lead !== undefined) frame.set(lead);
  frame[at] = length >>> 8;
  frame[at + 1] = length & 0xff;
  frame.set(body, at + 2);
  return frame;
}

/** Options of {@linkcode FrameReader.next}. */
export interface NextFrameOptions extends CallOptions {
  /** Called with the announced length before waiting for the body; may throw to refuse it. */
  check?: (length: number) => void;
  /**
   * Called (and awaited) with the body's first `length` bytes as soon as
   * they are here, before the rest is waited for; skipped for a shorter
   * body. The bytes are a view valid only during the call. A throw ends
   * the read with that error, and the reader with it (a read of the rest is
   * under way meanwhile): close the conn.
   */
  head?: { length: number; read(head: Uint8Array): void | Promise<void> };
}

/**
 * Reads length-prefixed frames from a conn through one buffer that starts
 * small and grows with the frames that come, to at most 2 × (2 + 65535)
 * bytes, so a peer can never make it allocate more than that.
 */
export class FrameReader {
  readonly #conn: Conn;
  /** The address errors name. */
  readonly #addr: string;
  // Small at first (a handshake's messages are tiny, and a conn that carries
  // little never needs more); once a bigger frame comes, room for two whole
  // frames of the largest size, so that a partial one can always be
  // completed after moving it to the front.
  #buf: Uint8Array = new Uint8Array(INITIAL_BUFFER);
  #start = 0;
  #end = 0;

  /** Reads from `conn`. */
  constructor(conn: Conn) {
    this.#conn = conn;
    this.#addr = connWhere(conn);
  }

  /**
   * The next frame's body, or `null` at EOF between frames. The body is a
   * view into the reader's buffer, valid until the next call. EOF inside a
   * frame is a {@linkcode ProtocolError}.
   */
  async next(options: NextFrameOptions = {}): Promise<Uint8Array | null> {
    const { signal, check, head } = options;
    if (head === undefined) {
      const buffered = this.nextNow(check);
      if (buffered !== undefined) return buffered;
    }
    while (this.#end - this.#start < 2) {
      if (!this.#took(await this.#readMore(signal))) {
        if (this.#end === this.#start) return null;
        throw new ProtocolError({
          op: "receive",
          addr: this.#addr,
          detail: "truncated: the connection ended inside a length prefix",
        });
      }
    }
    let buf: Uint8Array = this.#buf;
    const length = (buf[this.#start] << 8) | buf[this.#start + 1];
    check?.(length);
    if (2 + length > buf.length - this.#start && buf.length < FULL_BUFFER) buf = this.#grow();
    if (head !== undefined && length >= head.length) {
      await this.#fill(2 + head.length, length, signal);
      // The rest is read while the head's reader works (a DH, which blocks
      // the thread where the runtime computes it synchronously). Its bytes
      // land behind the head's; the view is taken after the read starts,
      // since starting one may move the buffered bytes to the front.
      const more = this.#end - this.#start < 2 + length ? this.#readMore(signal) : null;
      more?.catch(noop); // awaited below, unless the head's reader throws first
      await head.read(this.#buf.subarray(this.#start + 2, this.#start + 2 + head.length));
      if (more !== null && !this.#took(await more)) throw this.#truncated(length);
    }
    await this.#fill(2 + length, length, signal);
    const body = buf.subarray(this.#start + 2, this.#start + 2 + length);
    this.#start += 2 + length;
    return body;
  }

  /** Reads until `n` bytes of the frame (of a `length`-byte body) at `#start` are buffered. */
  async #fill(n: number, length: number, signal: AbortSignal | undefined): Promise<void> {
    while (this.#end - this.#start < n) {
      if (!this.#took(await this.#readMore(signal))) throw this.#truncated(length);
    }
  }

  #truncated(length: number): ProtocolError {
    return new ProtocolError({
      op: "receive",
      addr: this.#addr,
      detail: `truncated: the connection ended ${
        this.#end - this.#start - 2
      } bytes into a ${length}-byte frame`,
    });
  }

  /** Bytes read ahead and not yet taken. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /**
   * Exactly `n` bytes (a copy), read through the buffer, for a header that
   * is not a frame; fewer if the conn ends or breaks first (a peer that
   * says a few bytes and resets says them all the same).
   */
  async take(n: number, options: CallOptions = {}): Promise<Uint8Array> {
    while (this.#end - this.#start < n) {
      if (this.#buf.length - this.#start < n) this.#grow();
      try {
        if (!this.#took(await this.#readMore(options.signal))) break;
      } catch (err) {
        if (this.#end === this.#start || options.signal?.aborted) throw err;
        break;
      }
    }
    const got = Math.min(n, this.#end - this.#start);
    const bytes = this.#buf.slice(this.#start, this.#start + got);
    this.#start += got;
    return bytes;
  }

  /**
   * The next frame's body if it is already buffered whole, without reading;
   * `undefined` otherwise. `check` is called with its length, as in
   * {@linkcode FrameReader.next}.
   */
  nextNow(check?: (length: number) => void): Uint8Array | undefined {
    const start = this.#start;
    if (this.#end - start < 2) return undefined;
    const buf = this.#buf;
    const length = (buf[start] << 8) | buf[start + 1];
    check?.(length);
    if (this.#end - start < 2 + length) return undefined;
    this.#start = start + 2 + length;
    return buf.subarray(start + 2, start + 2 + length);
  }

  /** Moves the unread bytes to the front of the full-size buffer. */
  #grow(): Uint8Array {
    const grown = new Uint8Array(FULL_BUFFER);
    grown.set(this.#buf.subarray(this.#start, this.#end));
    this.#end -= this.#start;
    this.#start = 0;
    return this.#buf = grown;
  }

  /**
   * Reads more bytes: the conn's own read, awaited by the caller (one hop
   * fewer than an async function around it, on every record); hand what it
   * gives to {@linkcode FrameReader.#took}.
   */
  #readMore(signal: AbortSignal | undefined): Promise<number | null> {
    let buf: Uint8Array = this.#buf;
    if (this.#start === this.#end) {
      this.#start = this.#end = 0;
    } else if (buf.length - this.#end < Math.min(2 + MAX_BODY_LENGTH, buf.length / 2)) {
      buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    if (this.#end === buf.length) buf = this.#grow();
    return this.#conn.read(buf.subarray(this.#end), signal === undefined ? undefined : { signal });
  }

  /** Counts what a read got; false at EOF. */
  #took(n: number | null): boolean {
    if (n === null) return false;
    this.#end += n;
    return true;
  }
}
