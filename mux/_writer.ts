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

/**
 * The batch buffer: one conn write per round at most this big. Two 64 KiB
 * frames and their headers fit, so over a conn written with `write()` one
 * 64 KiB write is copied in while the last one is under way.
 */
export const BATCH_SIZE = 132 * 1024;
/** Control frames queued before the session stops reading from a peer that makes it answer but does not read. */
const CONTROL_LIMIT = 4096;
/**
 * A payload up to this size goes out copied behind its header in one conn
 * write; a bigger one as a write of its own, from the caller's buffer.
 */
const COPY_UP_TO = 4096;
/** A batch is not begun in less room than this while the conn holds the rest of the buffer. */
const MIN_BATCH = 16 * 1024;

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
  /**
   * Whether a payload that fits in the free end of the batch buffer is
   * copied there behind its header, whatever its size: for a conn without
   * queues, where each write is a call of its own (a system call, for a
   * socket), which costs more than the copy.
   */
  readonly #copyWhatFits: boolean;
  readonly #onError: (err: unknown) => Error;
  readonly #control = new Fifo<Control>();
  readonly #ready = new Fifo<Turn>();
  readonly #controlRoom = new WaitQueue<void>();
  /**
   * Where the writer's own bytes are written (batches, headers), as an
   * arena: each write takes the next free bytes from `#used` on, a region
   * the conn holds stays put until it lets go, and once the conn holds none,
   * writing starts over from the top. So a header costs no allocation even
   * while the conn holds the bytes before it.
   */
  readonly #batch = new Uint8Array(BATCH_SIZE);
  #used = 0;
  /** Regions of the batch buffer the conn holds. */
  #held = 0;
  #state: State = "open";
  /** Conn writes not yet settled, the batch buffer's and data written directly. */
  #pending = 0;
  readonly #done = Promise.withResolvers<void>();

  /**
   * Starts writing to `conn`. A failed write goes to `onError`, which
   * returns what a stream's write whose bytes it lost rejects with.
   */
  constructor(conn: Conn, onError: (err: unknown) => Error) {
    const outbound = queuesOf(conn)?.outbound;
    this.#wire = outbound !== undefined ? (bytes) => outbound.writeNow(bytes) : (bytes) => conn.write(bytes);
    this.#copyWhatFits = outbound === undefined;
    this.#onError = onError;
  }

  /** Whether a stream's write may go out at once, with nothing queued here to go before it. */
  get idle(): boolean {
    return this.#state === "open" && this.#control.length === 0 && this.#ready.length === 0;
  }

  /**
   * Writes a Data frame of `bytes` on `streamId` now; the writer must be
   * {@linkcode FrameWriter.idle}, and the stream must hold the credit. A
   * payload that is copied behind its header (a small one; over a conn
   * without queues, any that fits) is done at once: a number. Over a
   * QueueConn, a bigger one is written from `bytes`, and the promise settles
   * once the conn let go of them, rejecting with what `onError` says if it
   * failed. `undefined`: it could not go now (no room to copy it into), and
   * the stream queues it.
   */
  data(streamId: number, bytes: Uint8Array): number | Promise<number> | undefined {
    const n = bytes.byteLength;
    const start = this.#used;
    const fits = start + HEADER_SIZE + n <= BATCH_SIZE;
    if (this.#copyWhatFits && !fits && n > COPY_UP_TO) return undefined;
    const copied = n <= COPY_UP_TO || this.#copyWhatFits;
    const end = start + HEADER_SIZE + (copied ? n : 0);
    if (end <= BATCH_SIZE) {
      encodeHeader(this.#batch, start, Type.Data, 0, streamId, n);
      if (copied) this.#batch.set(bytes, start + HEADER_SIZE);
      this.#put(start, end);
    } else {
      // The conn holds nearly all of the batch buffer: a frame of its own.
      const frame = new Uint8Array(end - start);
      encodeHeader(frame, 0, Type.Data, 0, streamId, n);
      if (copied) frame.set(bytes, HEADER_SIZE);
      const written = this.#wire(frame);
      if (typeof written !== "number") this.#track(written);
    }
    if (copied) return n;
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
   * Writes `#batch[start..end)`, the top of the arena, to the conn: taken at
   * once, the region is free again; held, it stays until the conn lets go.
   * A failure goes to `onError`.
   */
  #put(start: number, end: number): void {
    this.#used = end;
    const written = this.#wire(this.#batch.subarray(start, end));
    if (typeof written === "number") {
      this.#used = start;
      return;
    }
    this.#held++;
    this.#pending++;
    written.then(this.#released, this.#failed);
  }

  /** Counts a conn write of the writer's own outside the batch buffer. */
  #track(written: Promise<number>): void {
    this.#pending++;
    written.then(this.#written, this.#failed);
  }

  #kick(): void {
    while (this.#state !== "done") {
      if (this.#control.length === 0 && this.#ready.length === 0) {
        if (this.#state === "finishing" && this.#pending === 0) this.#end();
        return;
      }
      // The rest of the buffer, unless the conn holds so much of it that a
      // batch would be small: then the next one waits for the conn.
      if (this.#held > 0 && BATCH_SIZE - this.#used < MIN_BATCH) return;
      // Written as soon as there is something to write, in the same tick as
      // the write or window update that made it: no loop to wake first.
      const start = this.#used;
      const end = this.#fillBatch(start);
      if (end > start) this.#put(start, end);
    }
  }

  readonly #written = (): void => {
    this.#pending--;
    this.#kick();
  };

  readonly #released = (): void => {
    if (--this.#held === 0) this.#used = 0;
    this.#written();
  };

  readonly #failed = (err: unknown): void => {
    this.#pending--;
    this.#held = 0;
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

  /** Fills a batch from `start`: control frames, then stream frames in turn while they fit. Returns its end. */
  #fillBatch(start: number): number {
    const batch = this.#batch;
    let at = start;
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
