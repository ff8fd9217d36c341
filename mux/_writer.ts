/**
 * The session's one writer: frames from every stream gathered into one
 * batch buffer and written to the conn underneath in one write per round.
 * Control frames (window updates, pings, opens, resets, GoAway) go first;
 * then the streams that have something to send take turns, each filling
 * one frame straight from its queue into the batch, so a busy stream can't
 * starve the others and no payload is copied or allocated on the way but
 * once. Private to `mux/`.
 *
 * @module
 */

import type { Conn } from "../conn.ts";
import { Fifo } from "../_async/fifo.ts";
import { WaitQueue } from "../_async/wait_queue.ts";
import { type Waiter, waiter } from "../_async/waiter.ts";
import { encodeHeader, HEADER_SIZE } from "./const.ts";

/** The batch buffer: one conn write per round at most this big. */
export const BATCH_SIZE = 128 * 1024;
/** Control frames queued before the session stops reading from a peer that makes it answer but does not read. */
const CONTROL_LIMIT = 4096;

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
 * `open` while writing; `finishing` once no more frames are taken and the
 * queued ones go out; `done` when the queue is empty after that, or writing
 * failed.
 */
type State = "open" | "finishing" | "done";

/** Writes the frames of one session to its conn. */
export class FrameWriter {
  readonly #conn: Conn;
  readonly #onError: (err: unknown) => void;
  readonly #control = new Fifo<Control>();
  readonly #ready = new Fifo<Turn>();
  readonly #controlRoom = new WaitQueue<void>();
  readonly #batch = new Uint8Array(BATCH_SIZE);
  #state: State = "open";
  /** Whether a batch is being written: the next one is filled once it is. */
  #writing = false;
  // Not Promise.withResolvers: Node 20 lacks it, and the mux runs there.
  readonly #done = waiter<void>();

  /** Starts writing to `conn`; a failed write goes to `onError`, once. */
  constructor(conn: Conn, onError: (err: unknown) => void) {
    this.#conn = conn;
    this.#onError = onError;
  }

  /** Queues a header-only frame ahead of the streams' frames. */
  control(type: number, flags: number, streamId: number, length: number): void {
    if (this.#state !== "open") return;
    this.#control.push({ type, flags, streamId, length });
    this.#kick();
  }

  /**
   * Resolves once few enough control frames are queued, or writing ended: a
   * peer that makes the session answer (pings, resets) and does not read the
   * answers is not read from either until it does.
   */
  controlRoom(): Promise<void> {
    if (this.#control.length < CONTROL_LIMIT || this.#state === "done") return Promise.resolve();
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

  #kick(): void {
    if (this.#writing || this.#state === "done") return;
    if (this.#control.length === 0 && this.#ready.length === 0) {
      if (this.#state === "finishing") this.#end();
      return;
    }
    const at = this.#fillBatch();
    if (at === 0) return this.#kick();
    // Written as soon as there is something to write, in the same tick as
    // the write or window update that made it: no loop to wake first.
    this.#writing = true;
    this.#conn.write(this.#batch.subarray(0, at)).then(this.#written, this.#failed);
  }

  readonly #written = (): void => {
    this.#writing = false;
    this.#kick();
  };

  readonly #failed = (err: unknown): void => {
    this.#writing = false;
    if (this.#state === "done") return;
    this.#end();
    this.#onError(err);
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
