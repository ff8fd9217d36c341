/**
 * The wire format of a secure conn: every handshake message and every
 * transport record is a 2-byte big-endian length, then that many bytes (as
 * libp2p-noise does), so a message is at most 65535 bytes.
 *
 * @module
 */

import type { CallOptions, Conn } from "../conn.ts";
import { ProtocolError } from "../errors.ts";

/** The largest body a length prefix can announce. */
export const MAX_BODY_LENGTH = 0xffff;

/** Prefixes `body` with its length. */
export function encodeFrame(body: Uint8Array): Uint8Array {
  if (body.length > MAX_BODY_LENGTH) {
    throw new RangeError(`a frame body is at most ${MAX_BODY_LENGTH} bytes, got ${body.length}`);
  }
  const frame = new Uint8Array(2 + body.length);
  frame[0] = body.length >>> 8;
  frame[1] = body.length & 0xff;
  frame.set(body, 2);
  return frame;
}

/** Options of {@linkcode FrameReader.next}. */
export interface NextFrameOptions extends CallOptions {
  /** Called with the announced length before waiting for the body; may throw to refuse it. */
  check?: (length: number) => void;
}

/**
 * Reads length-prefixed frames from a conn through one fixed buffer, so a
 * peer can never make it allocate more than that buffer.
 */
export class FrameReader {
  readonly #conn: Conn;
  // Room for two whole frames, so that a partial one can always be completed
  // after moving it to the front.
  readonly #buf = new Uint8Array(2 * (2 + MAX_BODY_LENGTH));
  #start = 0;
  #end = 0;

  /** Reads from `conn`. */
  constructor(conn: Conn) {
    this.#conn = conn;
  }

  /**
   * The next frame's body, or `null` at EOF between frames. The body is a
   * view into the reader's buffer, valid until the next call. EOF inside a
   * frame is a {@linkcode ProtocolError}.
   */
  async next(options: NextFrameOptions = {}): Promise<Uint8Array | null> {
    const { signal, check } = options;
    while (this.#end - this.#start < 2) {
      if (!await this.#fill(signal)) {
        if (this.#end === this.#start) return null;
        throw new ProtocolError({
          op: "receive",
          detail: "truncated: the connection ended inside a length prefix",
        });
      }
    }
    const buf = this.#buf;
    const length = (buf[this.#start] << 8) | buf[this.#start + 1];
    check?.(length);
    while (this.#end - this.#start < 2 + length) {
      if (!await this.#fill(signal)) {
        throw new ProtocolError({
          op: "receive",
          detail: `truncated: the connection ended ${
            this.#end - this.#start - 2
          } bytes into a ${length}-byte frame`,
        });
      }
    }
    const body = buf.subarray(this.#start + 2, this.#start + 2 + length);
    this.#start += 2 + length;
    return body;
  }

  /** Reads more bytes; false at EOF. */
  async #fill(signal: AbortSignal | undefined): Promise<boolean> {
    const buf = this.#buf;
    if (this.#start === this.#end) {
      this.#start = this.#end = 0;
    } else if (buf.length - this.#end < 2 + MAX_BODY_LENGTH) {
      buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    const n = await this.#conn.read(buf.subarray(this.#end), { signal });
    if (n === null) return false;
    this.#end += n;
    return true;
  }
}
