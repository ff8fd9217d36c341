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
 * - **Latency and batching.** A record the cipher seals at once (see
 *   `CipherState.encryptNow`) goes straight to the conn underneath: in a
 *   conversation (the peer was heard from since this side last sent), a
 *   `write` with nothing ahead of it becomes a record there and then,
 *   without passing through the queue, and a received record is opened and
 *   handed to readers in the same turn. A writer that runs ahead (writes
 *   again before hearing back) is given a few microtask turns to queue more
 *   (`_async/gather.ts`), and while a record is being written later writes
 *   queue too: both go out together in the next record, so such a writer
 *   makes few, big records.
 * - **Throughput through WebCrypto.** WebCrypto is asynchronous: once a
 *   record needs it (a big one), that direction keeps a few records in
 *   flight and hands them on in order, until a small record with nothing
 *   behind it ends the burst: once the line is through, records are sealed
 *   and opened at once again, so a burst now and then does not cost every
 *   later message WebCrypto's latency.
 *
 * @module
 */

import type { CallOptions, Conn } from "../conn.ts";
import { ByteQueue } from "../byte_queue.ts";
import { QueueConn } from "../queue_conn.ts";
import { ConnClosedError, ConnError, HandshakeError, ProtocolError } from "../errors.ts";
import { type CipherState, DecryptError, SYNC_CIPHER_LIMIT, TAG_LENGTH } from "./cipher.ts";
import { InFlight } from "./in_flight.ts";
import { noop } from "../_async/waiter.ts";
import { GATHER, gather } from "../_async/gather.ts";
import { encodeFrame, type FrameReader, MAX_BODY_LENGTH } from "./wire.ts";
import { isRefusal, refusalText } from "./refusal.ts";
import { giveBuffer, takeBuffer } from "../_copy_buffers.ts";
import { SharedTimer } from "../_async/shared_timer.ts";
import { connWhere } from "../_where.ts";

/** The most plaintext one record carries. */
export const MAX_RECORD_PLAINTEXT = MAX_BODY_LENGTH - TAG_LENGTH;

/** Records each direction keeps in flight through WebCrypto. */
const IN_FLIGHT = 4;
/**
 * Microtask turns a receive pump waits, after handing a record to a waiting
 * reader, for that reader to come back before it reads the conn underneath
 * again (see `#runReceive`): enough for a few layers above (frames, a
 * session, an application's loop) to take the record in turn.
 */
const READER_TURNS = 16;

/** A record's length prefix. */
const LENGTH_BYTES = 2;

/**
 * The pooled buffer a record sealed at once (up to `SYNC_CIPHER_LIMIT`
 * bytes of plaintext, with its length prefix and tag) goes into, given back
 * once written: a typed array of its own costs more to make than the seal.
 */
const POOLED_RECORD = 1024;

/** A pooled buffer to seal `n` plaintext bytes into, if the record is small enough for one. */
function sealBuffer(n: number): Uint8Array | undefined {
  // Only what is sealed at once: WebCrypto would copy it, and the host's cipher makes its own array.
  return n <= SYNC_CIPHER_LIMIT ? takeBuffer(POOLED_RECORD) : undefined;
}

/**
 * Where a send pump gathers a record's plaintext: one buffer for every conn
 * in the isolate, as it is sealed (or copied by WebCrypto) before the pump
 * awaits anything.
 */
const SEND_BUFFER = new Uint8Array(MAX_RECORD_PLAINTEXT);

/**
 * What the inbound queue's writing end says to a write after the peer's EOF
 * record. Only the receive pump writes there, and never then, so one error
 * serves every conn.
 */
const AFTER_EOF_RECORD = new ConnClosedError({ op: "write", detail: "after the end-of-stream record" });

/**
 * The deadlines of conns that are closing, by which the conn underneath is
 * closed even if the peer does not read: one timer for all of them, as a
 * timer of its own costs a closing conn more than the rest of its close.
 */
const closeDeadlines = new SharedTimer();

/** Writes the length of the sealed message after the headroom into the headroom. */
function lengthPrefixed(frame: Uint8Array): Uint8Array {
  const length = frame.length - LENGTH_BYTES;
  frame[0] = length >>> 8;
  frame[1] = length & 0xff;
  return frame;
}

const EMPTY = new Uint8Array(0);
const END = Symbol("end of the conn underneath");
/** The receive pipeline ends here: the pump goes back to opening records directly. */
const HANDBACK = Symbol("back to direct");
type Opened = Uint8Array | typeof END | typeof HANDBACK;
const OWNED = Object.freeze({ owned: true });
const CHECKED = Object.freeze({ check: checkRecordLength });

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
  /** The pipeline ends after this record: the pump goes back to direct writes. */
  last?: boolean;
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
  /** The peer's end-of-stream record came in. */
  #peerEof = false;
  /** Records go through a pipeline (some needed WebCrypto): no direct writes any more. */
  #pipelined = false;
  /** The record being written to the conn underneath, by the pump or by a direct write. */
  #writing: Promise<unknown> | null = null;
  /**
   * `heard` once a record came from the peer since this side last sent one:
   * a conversation, where a write goes out at once. `sent` while this side
   * writes and hears nothing: a writer running ahead, whose small writes
   * are gathered into one record (see `_async/gather.ts`).
   */
  #turn: "heard" | "sent" = "heard";

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
   * Writes all of `p` (see {@linkcode Conn.write}). When nothing is ahead
   * of it (no record being written, nothing queued) and the cipher seals it
   * at once, `p` becomes a record there and then, and goes to the conn
   * underneath without passing through the queue; otherwise it is queued
   * for the send pump.
   */
  override write(p: Uint8Array, options?: CallOptions): Promise<number> {
    if (options?.signal === undefined && p instanceof Uint8Array && this.#writeDirect(p)) {
      return Promise.resolve(p.byteLength);
    }
    return super.write(p, options);
  }

  /** Seals `p` into a record and starts writing it, if nothing is ahead of it; `false` if it must queue. */
  #writeDirect(p: Uint8Array): boolean {
    if (
      // (After closeWrite() the queue is no longer open: the EOF record goes after what it holds.)
      this.#writing !== null || this.#pipelined || this.#closing || this.#outbound.state !== "open" ||
      this.#sending !== "open" || this.#turn === "sent" ||
      p.byteLength === 0 || p.byteLength > MAX_RECORD_PLAINTEXT || this.#outbound.queued > 0
    ) {
      return false;
    }
    let frame: Uint8Array | null;
    const scratch = sealBuffer(p.byteLength);
    try {
      frame = this.#sendCipher.encryptNow(EMPTY, p, LENGTH_BYTES, "send", scratch);
    } catch {
      return false; // the nonces ran out: the pump fails the direction, in order
    }
    if (frame === null) {
      if (scratch !== undefined) giveBuffer(scratch);
      return false;
    }
    this.#turn = "sent";
    const writing = this.#writing = this.#under.write(lengthPrefixed(frame)).then(() => {
      // Not after a failure: a write that failed may not be done with it.
      if (scratch !== undefined) giveBuffer(scratch);
      if (this.#writing === writing) this.#writing = null;
    }, (err) => {
      if (this.#writing === writing) this.#writing = null;
      this.#sendFailed(err);
    });
    return true;
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
      closeDeadlines.add(this, this.#closeTimeout, () => this.#closeUnder());
    }
  }

  /**
   * Closes as {@linkcode close} does, but after the peer's end-of-stream
   * record without this side's own, for a protocol without half-close
   * (`ipc/`), whose peer sends that record only as it hangs up: writing ours
   * could only fail, and a failed write costs its errors on the way out.
   * Before the peer's record it is `close()`. Internal to the package.
   */
  closeAfterPeer(): void {
    if (this.#peerEof) this.#peerClosed();
    this.close();
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

  /**
   * Seals what is queued into records and writes them, one record at a
   * time, until EOF or failure. A record sealed at once (see
   * `CipherState.encryptNow`) goes straight to the conn underneath; while
   * it is being written, the application's next writes queue up and go out
   * together in the next record. Once a record needs WebCrypto, the
   * direction switches to a pipeline that keeps a few in flight, and back
   * once a small record with nothing queued behind it was written.
   */
  async #runSend(): Promise<void> {
    let pipeline: InFlight<SealedRecord> | null = null;
    let writing: Promise<void> | null = null;
    try {
      for (;;) {
        if (this.#writing !== null) {
          // A direct write is under way: what was queued behind it goes after it, together.
          await this.#writing;
          continue;
        }
        const queued = this.#outbound.queued;
        if (queued > 0 && queued < GATHER.enough && this.#turn === "sent" && pipeline === null) {
          // A writer running ahead in small writes: one record for the lot.
          await gather(() => this.#outbound.queued);
          if (this.#writing !== null) continue;
        }
        const n = this.#outbound.readNow(SEND_BUFFER);
        if (n === undefined) {
          await this.#outbound.whenReadable();
          // Ended under it (the peer hung up): nothing to report, unless a pipeline must be told.
          if (this.#sending !== "open" && pipeline === null) return;
          continue;
        }
        this.#turn = "sent";
        const eof = n === null;
        const plaintext = eof ? EMPTY : SEND_BUFFER.subarray(0, n);
        // The plaintext buffer is shared: it is sealed, or copied by WebCrypto, before anything awaits.
        const scratch = pipeline === null ? sealBuffer(plaintext.length) : undefined;
        const frame = this.#sendCipher.encryptNow(EMPTY, plaintext, LENGTH_BYTES, "send", scratch);
        if (frame !== null && pipeline === null) {
          const writing = this.#writing = this.#under.write(lengthPrefixed(frame));
          try {
            await writing;
          } finally {
            this.#writing = null;
          }
          if (scratch !== undefined) giveBuffer(scratch);
          if (!eof) continue;
          this.#sending = "done";
          this.#settle();
          return;
        }
        if (pipeline === null) {
          this.#pipelined = true;
          const line = pipeline = new InFlight<SealedRecord>(IN_FLIGHT);
          writing = this.#writeRecords(line).finally(() => line.stop());
        }
        // A small record with nothing queued behind it: the burst is over.
        // It ends the pipeline, and once the line is written, writes go
        // direct again (a record's latency through WebCrypto is tens of
        // microseconds; a burst, now and then, must not cost every later
        // message that).
        const last = frame !== null && !eof && this.#outbound.queued === 0;
        // Started before waiting for room: the plaintext is copied (or sealed) now.
        const record = frame !== null
          ? Promise.resolve({ frame: lengthPrefixed(frame), eof, last })
          : this.#sendCipher.encryptWithAd(EMPTY, plaintext, "send")
            .then((sealed) => ({ frame: encodeFrame(sealed), eof }));
        record.catch(noop);
        if (!await pipeline.room()) return; // the writer stopped: sending failed
        pipeline.push(record);
        if (eof) return;
        if (last) {
          await writing;
          writing = pipeline = null;
          if (this.#sending !== "open") return; // the writer failed
          this.#pipelined = false;
        }
      }
    } catch (err) {
      // The conn underneath failed, the nonces ran out, or sending failed already.
      if (pipeline === null) this.#sendFailed(err);
      else pipeline.push(Promise.reject(err));
    } finally {
      await writing;
    }
  }

  /** Writes the records of the pipeline in order, until the EOF record or a failure. */
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
      if (record.last) return;
    }
  }

  #sendFailed(err: unknown): void {
    this.#sending = "done";
    if (this.#underState !== "closed") {
      // Made only if a write sees it: a peer that hangs up right after its
      // EOF record fails this side's own EOF record, which nobody awaits.
      const addr = this.#addr;
      this.#outbound.closeRead(() =>
        err instanceof ConnClosedError
          ? new ConnClosedError({
            op: "write",
            addr,
            detail: "closed by peer, or the peer stopped reading",
            cause: err,
          })
          : asConnError(err, "send", addr)
      );
    }
    this.#settle();
  }

  /**
   * Reads records and hands their plaintext to readers, in order, until the
   * end or a failure. A record opened at once goes straight to readers;
   * once one needs WebCrypto, the direction switches to a pipeline that
   * keeps a few in flight, and back once a small record with nothing read
   * behind it was delivered.
   */
  async #runReceive(): Promise<void> {
    let pipeline: InFlight<Opened> | null = null;
    let delivering: Promise<boolean> | null = null;
    /** Hands one result on: at once while direct, else in line behind those in flight. */
    const next = async (
      result: Uint8Array | typeof END | Promise<Uint8Array | typeof END>,
      copy?: "copy",
    ) => {
      if (pipeline === null && !(result instanceof Promise)) return await this.#deliver(result, copy);
      if (result instanceof Promise) result.catch(noop); // handled in its turn, if delivering lasts that long
      if (pipeline === null) {
        const line = pipeline = new InFlight<Opened>(IN_FLIGHT);
        delivering = this.#deliverRecords(line).finally(() => line.stop());
      }
      if (!await pipeline.room()) return false; // delivering ended
      pipeline.push(Promise.resolve(result));
      return result !== END;
    };
    const failed = (err: unknown) => {
      if (pipeline === null) this.#receiveFailed(err);
      else pipeline.push(Promise.reject(err));
    };
    try {
      for (;;) {
        let body: Uint8Array | null | undefined;
        try {
          body = this.#reader.nextNow(checkRecordLength);
          if (body === undefined) body = await this.#reader.next(CHECKED);
        } catch (err) {
          // The length check is shared by every conn and names none: name this one.
          const unnamed = err instanceof ProtocolError && err.addr === undefined;
          return failed(unnamed ? this.#protocolError(err.detail ?? err.message) : err);
        }
        if (body === null) {
          if (this.#underState === "open") this.#underState = "ended";
          await next(END);
          return;
        }
        if (body.length === 1) {
          // The peer gave up on a handshake that had completed on this side
          // (say, the responder of XX refused our key): it says why, then
          // closes. Any other byte is not a record at all.
          return failed(
            isRefusal(body[0])
              ? new HandshakeError({ op: "receive", addr: this.#addr, detail: refusalText(body[0]) })
              : this.#protocolError(`a 1-byte record cannot hold its ${TAG_LENGTH}-byte tag`),
          );
        }
        let plaintext: Uint8Array | null = null;
        if (pipeline === null) {
          try {
            // In place, in the reader's buffer: the queue copies it from there.
            plaintext = this.#receiveCipher.decryptNow(EMPTY, body, "receive", body);
          } catch (err) {
            return failed(err);
          }
        }
        if (plaintext !== null) {
          // Direct: handed to readers in this turn, unless the queue is full.
          const reader = this.#inbound.waitingReads > 0;
          const delivered = this.#deliver(plaintext, plaintext.buffer === body.buffer ? "copy" : undefined);
          if (delivered === true) {
            // A reader took it whole: let it, and the layers it feeds, have it
            // before this pump's next read of the conn underneath, whose native
            // call (microseconds) would otherwise come first, on every
            // message's way to the application. They come back for more, or
            // the turns run out; nothing waits for a timer.
            if (reader && this.#reader.buffered === 0 && !this.#peerEof) await readerBack(this.#inbound);
            continue;
          }
          if (delivered === false || !await delivered) return;
          continue;
        }
        // WebCrypto copies `body` before decrypt() returns; the reader may reuse it.
        if (!await next(this.#receiveCipher.decryptWithAd(EMPTY, body, "receive"))) return;
        if (body.length <= SYNC_CIPHER_LIMIT + TAG_LENGTH && this.#reader.buffered === 0) {
          // A small record with nothing read behind it: the burst is over.
          // Once the line is delivered, records are opened directly again.
          const line = pipeline!;
          if (!await line.room()) return;
          line.push(Promise.resolve(HANDBACK));
          const handedBack = await delivering;
          pipeline = delivering = null;
          if (!handedBack) return; // delivering ended: the end, or a failure
        }
      }
    } finally {
      await delivering;
    }
  }

  /**
   * Hands the pipeline's opened records to readers, in order; `true` once it
   * reached the end of the line ({@linkcode HANDBACK}), `false` once
   * receiving is over.
   */
  async #deliverRecords(queue: InFlight<Opened>): Promise<boolean> {
    while (true) {
      let plaintext: Opened;
      try {
        plaintext = await queue.next();
      } catch (err) {
        this.#receiveFailed(err);
        return false;
      }
      if (plaintext === HANDBACK) return true;
      if (!await this.#deliver(plaintext)) return false;
    }
  }

  /**
   * Hands one opened record (or the end of the conn underneath) to readers;
   * `false` once receiving is over. With `"copy"`, the plaintext is a view of
   * the reader's buffer, which the queue copies (once delivered, the reader
   * may reuse it); else the queue keeps it as it is.
   */
  #deliver(plaintext: Uint8Array | typeof END, copy?: "copy"): boolean | Promise<boolean> {
    if (plaintext === END) {
      if (!this.#peerEof) {
        this.#receiveFailed(
          this.#protocolError("truncated: the connection ended without an end-of-stream record"),
        );
        return false;
      }
      this.#peerClosed();
      return false;
    }
    if (this.#peerEof) {
      this.#recordAfterEof();
      return false;
    }
    if (plaintext.length === 0) {
      this.#peerEof = true;
      // A peer that closed (not just half-closed) ends the conn right
      // after its EOF record; fail our writes before readers see EOF.
      if (this.#underState === "ended") this.#peerClosed();
      this.#inbound.closeWrite(AFTER_EOF_RECORD);
      if (this.#receiving === "open") this.#receiving = "ended";
      this.#settle();
      return true;
    }
    this.#turn = "heard";
    let written: number | Promise<number>;
    try {
      written = this.#inbound.writeNow(plaintext, copy === undefined ? OWNED : undefined);
    } catch {
      return false; // this side stopped reading
    }
    // It fails once this side stopped reading.
    return typeof written === "number" ? true : written.then(() => true, () => false);
  }

  /** The peer closed its conn: our writes fail, as with a pipe whose reader is gone. */
  #peerClosed(): void {
    if (this.#receiving === "open") this.#receiving = "ended";
    if (this.#sending === "open") {
      this.#sending = "done";
      const addr = this.#addr;
      this.#outbound.closeRead(() => new ConnClosedError({ op: "write", addr, detail: "closed by peer" }));
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
    closeDeadlines.remove(this);
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

/** Waits microtask turns until a read waits on `queue` again, or holds bytes, up to {@linkcode READER_TURNS}. */
async function readerBack(queue: ByteQueue): Promise<void> {
  for (let turn = 0; turn < READER_TURNS && queue.waitingReads === 0 && queue.queued === 0; turn++) {
    await undefined;
  }
}
