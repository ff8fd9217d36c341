/**
 * The session's one writer. A stream's write goes to the conn underneath
 * at once when nothing waits before it (see {@linkcode FrameWriter.data}):
 * its header, then the caller's own bytes, which the conn copies or holds
 * as its contract says, so the payload is copied once at most on this side.
 * Whatever has to wait (control frames queued behind a busy conn, bytes
 * written past a stream's credit, writes with a signal) is gathered into one
 * batch buffer and written in one conn write per round: control frames
 * (window updates, pings, opens, resets, GoAway) first, then the streams
 * that have something to send take turns, each filling one frame straight
 * from its queue into the batch, so a busy stream can't starve the others.
 * Private to `mux/`.
 *
 * @module
 */

import type { Conn } from "../conn.ts";
import { Fifo } from "../_async/fifo.ts";
import { WaitQueue } from "../_async/wait_queue.ts";
import { type Waiter, waiter } from "../_async/waiter.ts";
import { queuesOf } from "../_queue_access.ts";
import { encodeHeader, HEADER_SIZE, Type } from "./const.ts";

/** The batch buffer: one conn write per round at most this big. */
export const BATCH_SIZE = 128 * 1024;
/** Control frames queued before the session stops reading from a peer that makes it answer but does not read. */
const CONTROL_LIMIT = 4096;
/**
 * A payload up to this size goes out copied behind its header in one conn
 * write; a bigger one as a write of its own, from the caller's buffer.
 */
const COPY_UP_TO = 4096;

/** A stream with frames to send, as the writer sees it. */
export interface FrameSource {
  /**
   * Writes this source's next frame (or frames: a FIN, a FIN and a RST)
   * into `batch` from `at`, ending by `end`; returns where it stopped.
   */
  fill(batch: Uint8Array, at: number, end: number): number;
  /** Whether it has more to send right now (another turn in the same round). */
  readonly wantsMore: boolean;
}

interface Control {
  type: number;
  flags: number;
  streamId: number;
  length: number;
}

interface Turn {
  source: FrameSource;
  done: Waiter<void>;
}

/**
 * Puts bytes on the conn: with its outbound queue when it is a QueueConn
 * (a number when the queue took them at once), else with `write()`.
 */
type Wire = (bytes: Uint8Array) => number | Promise<number>;

/**
 * `open` while writing; `finishing` once no more frames are taken and the
 * queued ones go out; `done` when the queue is empty after that, or writing
 * failed.
 */
type State = "open" | "finishing" | "done";

/** Writes the frames of one session to its conn. */
export class FrameWriter {
  readonly #wire: Wire;
  readonly #onError: (err: unknown) => Error;
  readonly #control = new Fifo<Control>();
  readonly #ready = new Fifo<Turn>();
  readonly #controlRoom = new WaitQueue<void>();
  readonly #batch = new Uint8Array(BATCH_SIZE);
  #state: State = "open";
  /** Whether the conn still holds the batch buffer: the next batch is filled once it lets go. */
  #batchHeld = false;
  /** Conn writes not yet settled, the batch's and data written directly. */
  #pending = 0;
  readonly #done = Promise.withResolvers<void>();

  /**
   * Starts writing to `conn`. A failed write goes to `onError`, which
   * returns what a stream's write whose bytes it lost rejects with.
   */
  constructor(conn: Conn, onError: (err: unknown) => Error) {
    const outbound = queuesOf(conn)?.outbound;
    this.#wire = outbound !== undefined ? (bytes) => outbound.writeNow(bytes) : (bytes) => conn.write(bytes);
    this.#onError = onError;
  }

  /** Whether a stream's write may go out at once, with nothing queued here to go before it. */
  get idle(): boolean {
    return this.#state === "open" && this.#control.length === 0 && this.#ready.length === 0;
  }

  /**
   * Writes a Data frame of `bytes` on `streamId` now; the writer must be
   * {@linkcode FrameWriter.idle}, and the stream must hold the credit. A
   * small payload is copied behind its header and the write is done at once
   * (a number); a bigger one is written from `bytes`, and the promise
   * settles once the conn let go of them, rejecting with what `onError`
   * says if it failed.
   */
  data(streamId: number, bytes: Uint8Array): number | Promise<number> {
    const n = bytes.byteLength;
    if (n <= COPY_UP_TO) {
      const frame = this.#batchHeld ? new Uint8Array(HEADER_SIZE + n) : this.#batch;
      encodeHeader(frame, 0, Type.Data, 0, streamId, n);
      frame.set(bytes, HEADER_SIZE);
      this.#put(frame.subarray(0, HEADER_SIZE + n), frame === this.#batch);
      return n;
    }
    const header = this.#batchHeld ? new Uint8Array(HEADER_SIZE) : this.#batch;
    encodeHeader(header, 0, Type.Data, 0, streamId, n);
    this.#put(header.subarray(0, HEADER_SIZE), header === this.#batch);
    const written = this.#wire(bytes);
    if (typeof written === "number") return written;
    this.#pending++;
    // One promise for the caller and the bookkeeping both.
    return written.then(this.#dataWritten, this.#dataFailed);
  }

  /** Queues a header-only frame ahead of the streams' frames. */
  control(type: number, flags: number, streamId: number, length: number): void {
    if (this.#state !== "open") return;
    this.#control.push({ type, flags, streamId, length });
    this.#kick();
  }

  /**
   * `undefined` while few enough control frames are queued, else a promise
   * that resolves once they are, or writing ended: a
   * peer that makes the session answer (pings, resets) and does not read the
   * answers is not read from either until it does.
   */
  controlRoom(): Promise<void> | undefined {
    if (this.#control.length < CONTROL_LIMIT || this.#state === "done") return undefined;
    return this.#controlRoom.wait(undefined);
  }

  /**
   * Gives `source` turns until it has nothing more to send; resolves then,
   * or once writing ended.
   */
  turn(source: FrameSource): Promise<void> {
    if (this.#state === "done") return Promise.resolve();
    const done = waiter<void>();
    this.#ready.push({ source, done });
    this.#kick();
    return done.promise;
  }

  /**
   * Takes no more frames; resolves once the ones queued were written (or
   * writing failed).
   */
  finish(): Promise<void> {
    if (this.#state === "open") {
      this.#state = "finishing";
      this.#kick();
    }
    return this.#done.promise;
  }

  /** Stops at once: what is queued is dropped. */
  stop(): void {
    if (this.#state !== "done") this.#end();
  }

  /**
   * Hands frames of the writer's own to the conn; `batch` says they are in
   * the batch buffer, which is then held until the conn lets go. A failure
   * goes to `onError`.
   */
  #put(bytes: Uint8Array, batch: boolean): void {
    const written = this.#wire(bytes);
    if (typeof written === "number") return;
    this.#pending++;
    if (batch) this.#batchHeld = true;
    written.then(batch ? this.#batchWritten : this.#written, this.#failed);
  }

  #kick(): void {
    while (!this.#batchHeld && this.#state !== "done") {
      if (this.#control.length === 0 && this.#ready.length === 0) {
        if (this.#state === "finishing" && this.#pending === 0) this.#end();
        return;
      }
      // Written as soon as there is something to write, in the same tick as
      // the write or window update that made it: no loop to wake first.
      const at = this.#fillBatch();
      if (at > 0) this.#put(this.#batch.subarray(0, at), true);
    }
  }

  readonly #written = (): void => {
    this.#pending--;
    this.#kick();
  };

  readonly #batchWritten = (): void => {
    this.#batchHeld = false;
    this.#written();
  };

  readonly #failed = (err: unknown): void => {
    this.#pending--;
    if (this.#state === "done") return;
    this.#end();
    this.#onError(err);
  };

  readonly #dataWritten = (n: number): number => {
    this.#written();
    return n;
  };

  readonly #dataFailed = (err: unknown): never => {
    this.#failed(err);
    throw this.#onError(err);
  };

  #end(): void {
    this.#state = "done";
    this.#control.removeFrom(0);
    for (const turn of this.#ready.removeFrom(0)) turn.done.resolve();
    for (const w of this.#controlRoom.drain()) w.resolve();
    this.#done.resolve();
  }

  /** Fills the batch: control frames, then stream frames in turn while they fit. Returns its length. */
  #fillBatch(): number {
    const batch = this.#batch;
    let at = 0;
    const control = this.#control;
    while (control.length > 0 && at + HEADER_SIZE <= BATCH_SIZE) {
      const frame = control.shift();
      encodeHeader(batch, at, frame.type, frame.flags, frame.streamId, frame.length);
      at += HEADER_SIZE;
    }
    if (control.length < CONTROL_LIMIT) { for (const w of this.#controlRoom.drain()) w.resolve(); }
    const ready = this.#ready;
    while (ready.length > 0 && at + 2 * HEADER_SIZE < BATCH_SIZE) {
      const turn = ready.shift();
      const next = turn.source.fill(batch, at, BATCH_SIZE);
      if (next > at && turn.source.wantsMore) {
        ready.push(turn);
      } else {
        turn.done.resolve();
      }
      at = next;
    }
    return at;
  }
}
