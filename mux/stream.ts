/**
 * One yamux stream: a {@linkcode QueueConn} whose inbound queue the
 * session's receiver feeds with Data frames (or fills a waiting reader's
 * buffer from), and whose writes become Data frames, never past the window
 * the peer granted: at once when nothing waits before them, else through
 * its outbound queue, whose onWrite hook puts the stream in the session writer's
 * line.
 *
 * @module
 */

import type { Addr, CallOptions, Conn } from "../conn.ts";
import { ConnClosedError, ConnectionRefusedError, ProtocolError } from "../errors.ts";
import { ByteQueue } from "../byte_queue.ts";
import { QueueConn } from "../queue_conn.ts";
import { noop } from "../_async/waiter.ts";
import { encodeHeader, Flag, HEADER_SIZE, INITIAL_WINDOW, MAX_UINT32, Type } from "./const.ts";
import type { FrameSource, FrameWriter } from "./_writer.ts";

/**
 * A stream of a mux session: a full {@linkcode Conn} (deadlines,
 * half-close, stream views, the conformance kit's every rule) with its
 * yamux stream id.
 *
 * @example
 * ```ts
 * import { pipe } from "@tether/tether";
 * import { mux, type MuxStream } from "@tether/tether/mux";
 *
 * const [a, b] = pipe();
 * await using client = mux(a, { role: "client" });
 * await using server = mux(b, { role: "server" });
 * const stream: MuxStream = await client.open();
 * console.log(stream.id); // 1: clients open odd ids
 * await stream.write(new TextEncoder().encode("hi"));
 * const accepted = await server.accept();
 * console.log(accepted.id, await accepted.read(new Uint8Array(2))); // 1 2
 * ```
 */
export interface MuxStream extends Conn {
  /** The yamux stream id: odd if the client opened it, even if the server did. */
  readonly id: number;
}

/** What a stream needs from its session. */
export interface StreamHost {
  /** The session's frame writer. */
  readonly writer: FrameWriter;
  /** The peer's address, for errors. */
  readonly addr: string;
  /** The receive window every stream starts with. */
  readonly window: number;
  /** The most a stream's receive window grows to. */
  readonly maxWindow: number;
  /** The session's round-trip time in ms, once measured. */
  readonly rtt: number | null;
  /** Asks for a round-trip measurement, if none is under way. */
  measureRtt(): void;
  /** A round trip took `ms` (an opened stream's SYN to its ACK). */
  rttSample(ms: number): void;
  /** Takes up to `bytes` from the session's budget for window growth; returns what it got. */
  reserve(bytes: number): number;
  /** The stream is done on the wire: forget it, and take back the `grown` bytes of budget. */
  ended(stream: Stream, grown: number): void;
}

/**
 * The window of a stream's outbound queue: writes that must wait (for
 * credit, for a busy conn, or because they carry a signal) are copied there
 * up to this much; a bigger one waits holding the caller's buffer and is
 * copied once, straight into the session's batch, when its turn comes. The
 * buffering a stream's writer sees is the peer's window, not this queue.
 */
const SEND_QUEUE = 4096;

/** The error for writes into a stream's inbound queue after the peer's FIN: the session makes none. */
const UNSEEN = new ConnClosedError({ op: "deliver", detail: "after the peer's FIN" });

/**
 * The stream on the wire:
 * - `open`: both directions carry data;
 * - `localEnded`: our FIN is queued; the peer may still send;
 * - `remoteEnded`: the peer's FIN came; we may still send;
 * - `closed`: done: FIN both ways, or our FIN and then our RST, both queued;
 * - `reset`: done and nothing more goes out: the peer reset it, or it broke
 *   the protocol on it, or the session ended.
 */
type State = "open" | "localEnded" | "remoteEnded" | "closed" | "reset";

/**
 * This side's reader: `open`; `cancelled` once `readable` was cancelled
 * (what comes is dropped, and credited back so the peer's writes go on, as
 * over a socket); `closed` once `close()` was called (what comes makes us
 * reset the stream after our FIN, as TCP does).
 */
type Reading = "open" | "cancelled" | "closed";

/** A mux stream: the queue conn, its flow control and its part of the state machine. */
export class Stream extends QueueConn implements MuxStream, FrameSource {
  /** The yamux stream id. */
  readonly id: number;
  readonly #host: StreamHost;
  readonly #inbound: ByteQueue;
  readonly #outbound: ByteQueue;
  #state: State = "open";
  #reading: Reading = "open";
  /** What follows our FIN: a reset, once the peer's bytes went unread after a close. */
  #afterFin: "nothing" | "reset" = "nothing";
  /** For a stream this side opened: whether the peer answered its SYN yet. */
  #answer: "pending" | "received";
  /** When the stream was made (ms), for a round-trip sample when the ACK comes. */
  readonly #openedAt: number;

  /** The receive window: what the peer may have unread or in flight at most. */
  #window: number;
  /** What the peer may still send: granted and not yet received. */
  #credit: number;
  /** Bytes read (or dropped unread) since the last WindowUpdate. */
  #unacked = 0;
  /** Bytes received, and bytes taken by the reader: their difference is unread. */
  #received = 0;
  #consumed = 0;
  /** When the last WindowUpdate went out (ms). */
  #lastUpdate: number;
  /** Budget bytes this stream's window grew by. */
  #grown = 0;

  /** What this side may still send. */
  #sendCredit = INITIAL_WINDOW;
  /** The last write that went to the session's writer directly, until closeWrite() has waited for it. */
  #direct: Promise<number> | null = null;
  /** Sending: `open`, then `done` once our FIN (and what follows it) is in a batch, or the stream was reset. */
  #sending: "open" | "done" = "open";
  /** Whether this stream stands in the writer's line for turns. */
  #turns: "none" | "waiting" = "none";

  /** Makes a stream; `opened` says which side opened it. */
  constructor(
    host: StreamHost,
    id: number,
    addrs: { localAddr: Addr; remoteAddr: Addr },
    opened: "here" | "there",
  ) {
    // The queues' callbacks need `this`, which exists only once super() returns.
    // deno-lint-ignore prefer-const
    let stream: Stream | undefined;
    const inbound = new ByteQueue({ window: host.maxWindow, onRead: (n) => stream!.#onRead(n) });
    // What is written to the send queue (and its end) is offered to the
    // writer in the same call: no pump to wake.
    const outbound = new ByteQueue({ window: SEND_QUEUE, onWrite: () => stream!.#wantTurns() });
    super({
      ...addrs,
      inbound,
      outbound,
      onClose: () => stream!.#stopReading("closed"),
      onCancelRead: () => stream!.#stopReading("cancelled"),
    });
    stream = this;
    this.id = id;
    this.#host = host;
    this.#inbound = inbound;
    this.#outbound = outbound;
    this.#answer = opened === "here" ? "pending" : "received";
    this.#openedAt = this.#lastUpdate = performance.now();
    // The peer starts from the spec's initial window; the SYN or ACK frame
    // that the session sends tells it about the rest of ours.
    this.#window = this.#credit = host.window;
  }

  /**
   * Writes all of `p`. When nothing waits before it (no bytes queued here,
   * nothing queued in the session's writer), the stream holds the credit
   * and the caller brought no signal, `p` goes to the conn underneath at
   * once, as the session's writer says (`FrameWriter.data`); otherwise it
   * goes through the stream's queue, as on any QueueConn. A write with a
   * signal always does: the queue is what lets it leave the line when the
   * signal aborts.
   */
  override write(p: Uint8Array, options?: CallOptions): Promise<number> {
    const n = p?.byteLength;
    const writer = this.#host.writer;
    if (
      options?.signal !== undefined || !(p instanceof Uint8Array) || n === 0 || n > this.#sendCredit ||
      this.#sending !== "open" || this.#outbound.state !== "open" || this.#outbound.queued > 0 || !writer.idle
    ) {
      return super.write(p, options);
    }
    const sent = writer.data(this.id, p);
    if (sent === undefined) return super.write(p, options);
    this.#sendCredit -= n;
    return typeof sent === "number" ? Promise.resolve(sent) : this.#direct = sent;
  }

  /** Half-closes: FIN goes out after every byte written; resolves once the writes before it are done. */
  override closeWrite(): Promise<void> {
    const closing = super.closeWrite();
    const direct = this.#direct;
    if (direct === null) return closing;
    this.#direct = null;
    return Promise.all([closing, direct.catch(noop)]).then(noop);
  }

  /** Whether it has something to send right now: bytes queued and credit for them, or its FIN. */
  get wantsMore(): boolean {
    if (this.#sending !== "open") return false;
    const outbound = this.#outbound;
    const state = outbound.state;
    if (state === "readClosed") return false;
    return outbound.queued > 0 ? this.#sendCredit > 0 : state === "writeClosed";
  }

  /** Whether the peer may still send Data on this stream. */
  get receiving(): boolean {
    return this.#state === "open" || this.#state === "localEnded";
  }

  /** What the peer may still send. */
  get credit(): number {
    return this.#credit;
  }

  /**
   * A Data frame of `length` bytes is coming (the session checked that it
   * fits the credit and that the peer may still send): takes it off the credit.
   */
  expect(length: number): void {
    this.#credit -= length;
    this.#received += length;
  }

  /**
   * A piece of its payload arrived, in the session's read buffer: the
   * queue copies it (straight into a waiting reader's buffer, if one waits).
   */
  deliver(piece: Uint8Array): void {
    if (this.#state === "reset") return;
    if (this.#reading !== "open") return this.#dropped(piece.byteLength);
    // The queue's window is the largest receive window there can be, so a
    // piece within the credit is always taken, and copied, at once.
    const done = this.#inbound.writeNow(piece);
    if (typeof done !== "number") done.catch(() => {});
  }

  /** Whether no read waits now, but everything that came was read: a reader that keeps up, about to read again. */
  get readerDue(): boolean {
    const inbound = this.#inbound;
    return inbound.queued === 0 && inbound.waitingReads === 0 && this.#reading === "open" &&
      this.#state !== "reset";
  }

  /**
   * Hands up to `max` payload bytes straight from `source` to this stream's
   * waiting reader, if one waits (see `ByteQueue.fillReader`); returns how
   * many it took, 0 if it took none and the bytes must be delivered.
   */
  deliverFrom(max: number, source: (into: Uint8Array) => number): number {
    if (this.#state === "reset" || this.#reading !== "open") return 0;
    return this.#inbound.fillReader(max, source);
  }

  /** Handles the flags of a frame on this stream, after its payload (if any) was delivered. */
  flags(flags: number): void {
    if (flags & Flag.ACK && this.#answer === "pending") {
      this.#answer = "received";
      this.#host.rttSample(performance.now() - this.#openedAt);
    }
    if (flags & Flag.FIN) this.#remoteFin();
    if (flags & Flag.RST) this.#remoteReset();
  }

  /** A WindowUpdate gave `delta` more bytes of credit. */
  grant(delta: number): void {
    if (this.#state === "reset" || delta === 0) return;
    if (this.#sendCredit + delta > MAX_UINT32) {
      return this.fail(
        `a WindowUpdate of ${delta} took the window past 2^32 - 1 bytes (${this.#sendCredit} already granted)`,
      );
    }
    this.#sendCredit += delta;
    this.#wantTurns();
  }

  /**
   * The peer broke the protocol on this stream (`detail` says how): reset
   * it. Readers get what came before, then a `ProtocolError`; writers a
   * `ConnClosedError` caused by it.
   */
  fail(detail: string): void {
    if (this.#state === "reset" || this.#state === "closed") return;
    this.#host.writer.control(Type.WindowUpdate, Flag.RST, this.id, 0);
    const error = new ProtocolError({
      op: "receive",
      addr: this.#host.addr,
      detail: `stream ${this.id}: ${detail}`,
    });
    this.#reset(
      error,
      new ConnClosedError({
        op: "write",
        addr: this.#host.addr,
        detail: "the stream was reset: the peer broke the protocol",
        cause: error,
      }),
    );
  }

  /**
   * The session ended: reads get what is queued, then `readError` (or EOF,
   * if the peer had half-closed); writes reject with `writeError`. With
   * `now`, as for a local close of the session, reads reject at once.
   */
  abort(readError: Error, writeError: Error, now: boolean): void {
    if (now) this.#inbound.closeRead(readError);
    this.#reset(readError, writeError);
  }

  // ---- receiving ----

  #onRead(n: number): void {
    this.#consumed += n;
    this.#acknowledge(n);
  }

  /** `n` bytes were read, or dropped unread: the peer may send that many more. */
  #acknowledge(n: number): void {
    if (!this.receiving) return;
    this.#unacked += n;
    if (this.#unacked < this.#window / 2) return;
    let delta = this.#unacked;
    const now = performance.now();
    const rtt = this.#host.rtt;
    if (rtt === null) {
      this.#host.measureRtt();
    } else if (now - this.#lastUpdate < 4 * rtt && this.#window < this.#host.maxWindow) {
      // The reader took half a window within a few round trips: the window,
      // not the reader, holds this stream back. Grow it, within the budget.
      const grown = this.#host.reserve(Math.min(this.#window * 2, this.#host.maxWindow) - this.#window);
      this.#window += grown;
      this.#grown += grown;
      delta += grown;
    }
    this.#lastUpdate = now;
    this.#unacked = 0;
    this.#credit += delta;
    this.#host.writer.control(Type.WindowUpdate, 0, this.id, delta);
  }

  /** `length` bytes came for a reader that is gone. */
  #dropped(length: number): void {
    if (this.#reading === "closed" || this.#state === "localEnded") {
      // Both ends are done here and the peer still sends: it learns so, as
      // from TCP, by a reset (after our FIN, so it still reads what we sent).
      if (this.#state === "localEnded") this.#localReset();
      else this.#afterFin = "reset";
      return;
    }
    // Only reading stopped: drop the bytes, as a socket does, and let the
    // peer go on writing.
    this.#acknowledge(length);
  }

  #stopReading(how: "cancelled" | "closed"): void {
    if (this.#reading === "closed") return;
    this.#reading = how;
    const unread = this.#received - this.#consumed;
    this.#consumed = this.#received;
    if (unread === 0) return;
    this.#dropped(unread);
  }

  #remoteFin(): void {
    // Only the session writes to the inbound queue, and never after the
    // peer's FIN: the error for such a write is never seen, so one shared
    // instance saves a stack capture per stream.
    this.#inbound.closeWrite(UNSEEN);
    if (this.#state === "open") this.#state = "remoteEnded";
    else if (this.#state === "localEnded") this.#end("closed");
  }

  #remoteReset(): void {
    if (this.#state === "reset" || this.#state === "closed") return;
    const addr = this.#host.addr;
    if (this.#answer === "pending") {
      const detail = "the peer refused the stream: its backlog or stream limit is full, or it is going away";
      this.#reset(
        new ConnectionRefusedError({ op: "read", addr, detail }),
        new ConnectionRefusedError({ op: "write", addr, detail }),
      );
    } else {
      const detail = "the peer reset the stream";
      this.#reset(
        new ConnClosedError({ op: "read", addr, detail }),
        new ConnClosedError({ op: "write", addr, detail }),
      );
    }
  }

  // ---- sending ----

  /**
   * Stands in the writer's line when there is something to send: bytes and
   * the credit for them, or the end of writing (FIN). Called when bytes are
   * queued or writing ends (the queue's onWrite hook) and when credit comes.
   */
  #wantTurns(): void {
    if (this.#turns === "waiting" || !this.wantsMore) return;
    this.#turns = "waiting";
    this.#host.writer.ready(this);
  }

  /** The writer took this stream out of its line: it wants no more turns for now. */
  turnsEnded(): void {
    this.#turns = "none";
  }

  /** Fills this stream's next frame into the session's batch; see {@linkcode FrameSource.fill}. */
  fill(batch: Uint8Array, at: number, end: number): number {
    if (this.#sending === "done") return at;
    if (this.#state === "reset") {
      this.#sending = "done";
      return at;
    }
    const room = Math.min(end - at - 2 * HEADER_SIZE, this.#sendCredit);
    let n: number | null | undefined;
    try {
      const start = at + HEADER_SIZE;
      n = this.#outbound.readNow(batch.subarray(start, start + Math.max(room, 0)));
    } catch {
      this.#sending = "done";
      return at;
    }
    if (n === null) return this.#fin(batch, at);
    if (n === undefined || n === 0) return at;
    encodeHeader(batch, at, Type.Data, 0, this.id, n);
    this.#sendCredit -= n;
    return at + HEADER_SIZE + n;
  }

  /** Our writing ended and everything before it is in the batch: FIN, maybe a reset after it. */
  #fin(batch: Uint8Array, at: number): number {
    this.#sending = "done";
    encodeHeader(batch, at, Type.WindowUpdate, Flag.FIN, this.id, 0);
    at += HEADER_SIZE;
    if (this.#state === "remoteEnded") {
      this.#end("closed");
      return at;
    }
    this.#state = "localEnded";
    if (this.#afterFin === "reset") {
      encodeHeader(batch, at, Type.WindowUpdate, Flag.RST, this.id, 0);
      at += HEADER_SIZE;
      this.#end("closed");
    }
    return at;
  }

  /** Resets the stream from this side once our FIN is out: the peer's writes then fail. */
  #localReset(): void {
    this.#host.writer.control(Type.WindowUpdate, Flag.RST, this.id, 0);
    this.#end("closed");
  }

  // ---- ending ----

  #reset(readError: Error, writeError: Error): void {
    if (this.#state === "reset" || this.#state === "closed") return;
    const eof = this.#state === "remoteEnded";
    this.#state = "reset";
    this.#inbound.abortWrite(readError, eof ? undefined : readError);
    this.#outbound.closeRead(readError, writeError);
    this.#forget();
  }

  #end(state: "closed"): void {
    this.#state = state;
    this.#forget();
  }

  #forget(): void {
    this.#host.ended(this, this.#grown);
    this.#grown = 0;
  }
}
