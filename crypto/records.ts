/**
 * The record layer: a {@linkcode SecureConn} after its handshake. Plaintext
 * moves through the two `ByteQueue`s of a `QueueConn`; pumps cut it into
 * Noise transport messages (records) on the conn underneath.
 *
 * - **Records.** Each is a 2-byte length and the AEAD output of at most
 *   65519 bytes of plaintext; the nonce is the record's number in its
 *   direction, so a record that is tampered with, cut short, replayed,
 *   dropped or moved fails authentication: the conn underneath closes,
 *   writes fail, and readers get the bytes already authenticated, then a
 *   {@linkcode ProtocolError}.
 * - **Half-close.** A record with empty plaintext is EOF (a write of 0 bytes
 *   never makes one). Closing sends it too, after the bytes already queued,
 *   then closes the conn underneath. A conn that ends without it was cut off:
 *   readers get a `ProtocolError` (after the bytes before it), not a clean EOF.
 * - **Stop reading.** Cancelling `readable` cancels the conn underneath's
 *   `readable`, so the peer's writes fare as they would over that conn.
 * - **Throughput.** WebCrypto is asynchronous, so each direction keeps a few
 *   records in flight and hands them on in order.
 *
 * @module
 */

import type { Conn } from "../conn.ts";
import { ByteQueue } from "../byte_queue.ts";
import { QueueConn } from "../queue_conn.ts";
import { ConnClosedError, ConnError, HandshakeError, ProtocolError } from "../errors.ts";
import { type CipherState, DecryptError, TAG_LENGTH } from "./cipher.ts";
import { InFlight } from "./in_flight.ts";
import { encodeFrame, type FrameReader, MAX_BODY_LENGTH } from "./wire.ts";
import { isRefusal, refusalText } from "./refusal.ts";
import { connWhere } from "../_where.ts";

/** The most plaintext one record carries. */
export const MAX_RECORD_PLAINTEXT = MAX_BODY_LENGTH - TAG_LENGTH;

/** Records each direction keeps in flight through WebCrypto. */
const IN_FLIGHT = 4;

const EMPTY = new Uint8Array(0);
const END = Symbol("end of the conn underneath");
const OWNED = Object.freeze({ owned: true });

/**
 * A {@linkcode Conn} secured by a Noise handshake: what it reads was sent by
 * the peer that completed the handshake, unchanged, in order, once.
 *
 * @example Channel binding: both ends see the same handshake hash
 * ```ts
 * import { pipe } from "@tether/tether";
 * import { secure, type SecureConn } from "@tether/tether/crypto";
 *
 * const [a, b] = pipe();
 * const [x, y]: SecureConn[] = await Promise.all([
 *   secure(a, { role: "initiator" }),
 *   secure(b, { role: "responder" }),
 * ]);
 * console.log(x.handshakeHash.every((v, i) => v === y.handshakeHash[i])); // true
 * x.close();
 * y.close();
 * ```
 */
export interface SecureConn extends Conn {
  /** The full Noise protocol name, such as `Noise_XX_25519_AESGCM_SHA256`. */
  readonly protocol: string;
  /**
   * The peer's static public key, if the pattern carries or pre-shares one.
   * Every byte read from this conn was sent by the holder of its private
   * key; where the handshake ends before the peer proved that (the
   * responder of IX, IN, KN, KX...), the peer's first record is the proof,
   * and a peer without the key gets no byte read: a `ProtocolError`.
   */
  readonly remoteStaticKey: Uint8Array | null;
  /** The handshake hash: the same on both ends and unique to this session (channel binding). */
  readonly handshakeHash: Uint8Array;
}

/** What a finished handshake hands the record layer. */
export interface SessionInit {
  /** The conn the records travel on. */
  conn: Conn;
  /** The reader the handshake used, with any bytes it read ahead. */
  reader: FrameReader;
  /** The cipher state for records this side sends. */
  send: CipherState;
  /** The cipher state for records this side receives. */
  receive: CipherState;
  /** See {@linkcode SecureConn.protocol}. */
  protocol: string;
  /** See {@linkcode SecureConn.remoteStaticKey}. */
  remoteStaticKey: Uint8Array | null;
  /** See {@linkcode SecureConn.handshakeHash}. */
  handshakeHash: Uint8Array;
  /** The plaintext window of each direction. */
  bufferSize: number;
  /** How long `close()` may wait on a peer that does not read. */
  closeTimeout: number;
}

interface SealedRecord {
  frame: Uint8Array;
  eof: boolean;
}

/** A `QueueConn` whose queues are fed and drained by record pumps. */
export class SecureQueueConn extends QueueConn implements SecureConn {
  /** See {@linkcode SecureConn.protocol}. */
  readonly protocol: string;
  /** See {@linkcode SecureConn.remoteStaticKey}. */
  readonly remoteStaticKey: Uint8Array | null;
  /** See {@linkcode SecureConn.handshakeHash}. */
  readonly handshakeHash: Uint8Array;
  /** Settles once both directions are done and the conn underneath is closed. */
  declare readonly closed: Promise<void>;
  readonly #under: Conn;
  readonly #reader: FrameReader;
  readonly #sendCipher: CipherState;
  readonly #receiveCipher: CipherState;
  readonly #inbound: ByteQueue;
  readonly #outbound: ByteQueue;
  readonly #closeTimeout: number;
  readonly #addr: string;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  /** `close()` was called: the conn underneath closes once our EOF record is out. */
  #closing = false;
  /** Sending: `open`, then `done` once our EOF record went out or sending failed. */
  #sending: "open" | "done" = "open";
  /**
   * Receiving: `open`; `ended` once the peer's EOF record came in or
   * receiving failed; `stopped` once this side cancelled `readable`.
   */
  #receiving: "open" | "ended" | "stopped" = "open";
  /** The conn underneath: `open`, `ended` (it reached EOF) or `closed` (by this side). */
  #underState: "open" | "ended" | "closed" = "open";

  /** Starts the pumps over a conn whose handshake just finished. */
  constructor(init: SessionInit) {
    const inbound = new ByteQueue({ window: init.bufferSize });
    const outbound = new ByteQueue({ window: init.bufferSize });
    super({
      localAddr: init.conn.localAddr,
      remoteAddr: init.conn.remoteAddr,
      inbound,
      outbound,
      onCancelRead: () => this.#stopReading(),
    });
    this.protocol = init.protocol;
    this.remoteStaticKey = init.remoteStaticKey;
    this.handshakeHash = init.handshakeHash;
    this.#under = init.conn;
    this.#reader = init.reader;
    this.#sendCipher = init.send;
    this.#receiveCipher = init.receive;
    this.#inbound = inbound;
    this.#outbound = outbound;
    this.#closeTimeout = init.closeTimeout;
    this.#addr = connWhere(init.conn);
    const queuesDone = this.closed;
    this.closed = Promise.all([queuesDone, this.#runSend(), this.#runReceive()])
      .then(() => this.#under.closed);
  }

  /**
   * Closes: pending reads and writes reject at once; bytes already queued
   * are still sealed and sent, then the EOF record, then the conn underneath
   * closes: at the latest after `closeTimeout`, should the peer not read.
   */
  override close(): void {
    if (this.#closing) return;
    this.#closing = true;
    super.close();
    this.#settle();
    if (this.#underState !== "closed") {
      this.#closeTimer = setTimeout(() => this.#closeUnder(), this.#closeTimeout);
    }
  }

  /**
   * `readable` was cancelled: this side reads no more. Noise has no record
   * that says "stop sending" (and one could not be acted on before the
   * records ahead of it), so this cancels the readable of the conn
   * underneath, which tells its peer whatever that conn tells it: a pipe
   * fails the peer's writes; a socket cannot tell its peer, so it reads and
   * drops what the peer sends, whose writes then complete, as over the bare
   * socket (`close()` fails them). Should that cancel fail, the conn
   * underneath is closed instead. This side's writes go on working where the
   * conn underneath still carries them.
   */
  #stopReading(): void {
    if (this.#receiving !== "open" || this.#underState === "closed") return; // the peer sends no more anyway
    this.#receiving = "stopped";
    try {
      this.#under.readable.cancel().catch(() => this.#closeUnder());
    } catch {
      this.#closeUnder();
    }
    this.#settle();
  }

  async #runSend(): Promise<void> {
    const queue = new InFlight<SealedRecord>(IN_FLIGHT);
    const sealing = this.#sealRecords(queue);
    await this.#writeRecords(queue);
    await queue.stop();
    await sealing;
  }

  /** Reads plaintext as it comes, up to a record's worth, and starts sealing it. */
  async #sealRecords(queue: InFlight<SealedRecord>): Promise<void> {
    const buf = new Uint8Array(MAX_RECORD_PLAINTEXT);
    while (await queue.room()) {
      let n: number | null;
      try {
        n = await this.#outbound.read(buf);
      } catch (err) {
        queue.push(Promise.reject(err)); // sending already failed; the writer stops on it
        return;
      }
      const eof = n === null;
      // WebCrypto copies `buf` before encrypt() returns, so it can be refilled at once.
      queue.push(
        this.#sendCipher.encryptWithAd(EMPTY, eof ? EMPTY : buf.subarray(0, n!), "send")
          .then((sealed) => ({ frame: encodeFrame(sealed), eof })),
      );
      if (eof) return;
    }
  }

  async #writeRecords(queue: InFlight<SealedRecord>): Promise<void> {
    while (true) {
      let record: SealedRecord;
      try {
        record = await queue.next();
        await this.#under.write(record.frame);
      } catch (err) {
        this.#sendFailed(err);
        return;
      }
      if (record.eof) {
        this.#sending = "done";
        this.#settle();
        return;
      }
    }
  }

  #sendFailed(err: unknown): void {
    this.#sending = "done";
    if (this.#underState !== "closed") {
      const error = err instanceof ConnClosedError
        ? new ConnClosedError({
          op: "write",
          addr: this.#addr,
          detail: "closed by peer, or the peer stopped reading",
          cause: err,
        })
        : asConnError(err, "send", this.#addr);
      this.#outbound.closeRead(error);
    }
    this.#settle();
  }

  async #runReceive(): Promise<void> {
    const queue = new InFlight<Uint8Array | typeof END>(IN_FLIGHT);
    const reading = this.#readRecords(queue);
    await this.#deliverRecords(queue);
    await queue.stop();
    await reading;
  }

  /** Reads records as they come and starts opening them. */
  async #readRecords(queue: InFlight<Uint8Array | typeof END>): Promise<void> {
    while (await queue.room()) {
      let body: Uint8Array | null;
      try {
        body = await this.#reader.next({ check: checkRecordLength });
      } catch (err) {
        queue.push(Promise.reject(err));
        return;
      }
      if (body === null) {
        if (this.#underState === "open") this.#underState = "ended";
        queue.push(Promise.resolve(END));
        return;
      }
      if (body.length === 1) {
        // The peer gave up on a handshake that had completed on this side
        // (say, the responder of XX refused our key): it says why, then
        // closes. Any other byte is not a record at all.
        queue.push(Promise.reject(
          isRefusal(body[0])
            ? new HandshakeError({ op: "receive", addr: this.#addr, detail: refusalText(body[0]) })
            : this.#protocolError(`a 1-byte record cannot hold its ${TAG_LENGTH}-byte tag`),
        ));
        return;
      }
      // WebCrypto copies `body` before decrypt() returns; the reader may reuse it.
      queue.push(this.#receiveCipher.decryptWithAd(EMPTY, body, "receive"));
    }
  }

  /** Hands opened records to readers, in order. */
  async #deliverRecords(queue: InFlight<Uint8Array | typeof END>): Promise<void> {
    let eof = false;
    while (true) {
      let plaintext: Uint8Array | typeof END;
      try {
        plaintext = await queue.next();
      } catch (err) {
        return this.#receiveFailed(err);
      }
      if (plaintext === END) {
        if (!eof) {
          return this.#receiveFailed(
            this.#protocolError("truncated: the connection ended without an end-of-stream record"),
          );
        }
        return this.#peerClosed();
      }
      if (eof) return this.#recordAfterEof();
      if (plaintext.length === 0) {
        eof = true;
        // A peer that closed (not just half-closed) ends the conn right
        // after its EOF record; fail our writes before readers see EOF.
        if (this.#underState === "ended") this.#peerClosed();
        this.#inbound.closeWrite();
        if (this.#receiving === "open") this.#receiving = "ended";
        this.#settle();
        continue;
      }
      try {
        await this.#inbound.write(plaintext, OWNED);
      } catch {
        return; // this side stopped reading
      }
    }
  }

  /** The peer closed its conn: our writes fail, as with a pipe whose reader is gone. */
  #peerClosed(): void {
    if (this.#receiving === "open") this.#receiving = "ended";
    if (this.#sending === "open") {
      this.#sending = "done";
      this.#outbound.closeRead(
        new ConnClosedError({ op: "write", addr: this.#addr, detail: "closed by peer" }),
      );
    }
    this.#settle();
  }

  /**
   * The peer sent a record after its end-of-stream record: a broken peer. A
   * reader that has not reached EOF yet gets the `ProtocolError`; writing
   * ends as a close does, cleanly (what is queued goes out, then our own
   * end-of-stream record), and later writes fail with a `ConnClosedError`
   * whose cause is that `ProtocolError`.
   */
  #recordAfterEof(): void {
    const error = this.#protocolError("the peer sent a record after its end-of-stream record");
    if (this.#receiving === "open") this.#receiving = "ended";
    this.#inbound.abortWrite(new ConnClosedError({ op: "read", addr: this.#addr, cause: error }), error);
    // Our end-of-stream record follows what is queued; the conn underneath then closes.
    this.#outbound.closeWrite(
      new ConnClosedError({
        op: "write",
        addr: this.#addr,
        detail: "the peer broke the protocol",
        cause: error,
      }),
    );
    this.#settle();
  }

  #receiveFailed(err: unknown): void {
    const stopped = this.#receiving === "stopped";
    this.#receiving = "ended";
    // We closed it, or stopped its reading: what follows is the echo.
    if (this.#underState === "closed" || stopped) return;
    const error = err instanceof DecryptError
      ? this.#protocolError(
        "a record failed authentication: it was tampered with, truncated, replayed or reordered",
        err,
      )
      : asConnError(err, "receive", this.#addr);
    // What is queued was authenticated: readers get it first, then the error.
    this.#inbound.abortWrite(
      new ConnClosedError({ op: "read", addr: this.#addr, detail: "after a receive error", cause: error }),
      error,
    );
    this.#outbound.closeRead(
      new ConnClosedError({
        op: "write",
        addr: this.#addr,
        detail: "closed after a receive error",
        cause: error,
      }),
    );
    this.#closeUnder();
  }

  /** Closes the conn underneath once neither direction needs it. */
  #settle(): void {
    if (this.#sending === "done" && (this.#closing || this.#receiving !== "open")) this.#closeUnder();
  }

  #closeUnder(): void {
    if (this.#underState === "closed") return;
    this.#underState = "closed";
    clearTimeout(this.#closeTimer);
    this.#under.close();
  }

  #protocolError(detail: string, cause?: unknown): ProtocolError {
    return new ProtocolError({ op: "receive", addr: this.#addr, detail, cause });
  }
}

function checkRecordLength(length: number): void {
  // One byte is a handshake refusal (see refusal.ts), read as such.
  if (length < TAG_LENGTH && length !== 1) {
    throw new ProtocolError({
      op: "receive",
      detail: `a ${length}-byte record cannot hold its ${TAG_LENGTH}-byte tag`,
    });
  }
}

function asConnError(err: unknown, op: string, addr: string): Error {
  if (err instanceof ConnError) return err;
  return new ProtocolError({
    op,
    addr,
    detail: err instanceof Error ? err.message : String(err),
    cause: err,
  });
}
