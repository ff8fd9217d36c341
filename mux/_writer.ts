/**
 * The session's one writer. A stream's write goes to the conn at once when
 * nothing waits before it (see {@linkcode FrameWriter.data}). Whatever has to
 * wait (control frames behind a busy conn, bytes written past a stream's
 * credit, writes with a signal) is gathered into batches: control frames
 * (window updates, pings, opens, resets, GoAway) first, then the streams
 * that have something to send take turns, each filling one frame straight
 * from its queue into the batch, so a busy stream can't starve the others.
 * How bytes reach the conn is the outbox's business (`_outbox.ts`).
 * Private to `mux/`.
 *
 * @module
 */

import type { Conn } from "../conn.ts";
import { Fifo } from "../_async/fifo.ts";
import { WaitQueue } from "../_async/wait_queue.ts";
import { waiter } from "../_async/waiter.ts";
import { queuesOf } from "../_queue_access.ts";
import { encodeHeader, HEADER_SIZE, Type } from "./const.ts";
import { ConnOutbox, type Outbox, QueueOutbox } from "./_outbox.ts";

/** Control frames queued before the session stops reading from a peer that makes it answer but does not read. */
const CONTROL_LIMIT = 4096;
/** A payload up to this size is copied behind its header; a bigger one goes as the caller's bytes, if the outbox can. */
const COPY_UP_TO = 4096;
/** Payloads of up to this many bytes are copied by a loop: `set` costs more than the bytes for so few. */
const SMALL_COPY = 16;
/** A batch is not begun in less room than this while the conn holds the rest of the outbox. */
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
  /** It was taken out of the line, wanting no more turns for now. */
  turnsEnded(): void;
}

interface Control {
  type: number;
  flags: number;
  streamId: number;
  length: number;
}

/**
 * `open` while writing; `finishing` once no more frames are taken and the
 * queued ones go out; `done` when everything is out after that, or writing
 * failed.
 */
type State = "open" | "finishing" | "done";

/** Writes the frames of one session to its conn. */
export class FrameWriter {
  readonly #out: Outbox;
  readonly #onError: (err: unknown) => Error;
  readonly #control = new Fifo<Control>();
  /** Sources waiting for turns, in line. */
  readonly #ready = new Fifo<FrameSource>();
  readonly #controlRoom = new WaitQueue<void>();
  #state: State = "open";
  // Not Promise.withResolvers: Node 20 lacks it, and the mux runs there.
  readonly #done = waiter<void>();

  /**
   * Starts writing to `conn`. A failed write goes to `onError`, which
   * returns what a stream's write whose bytes it lost rejects with.
   */
  constructor(conn: Conn, onError: (err: unknown) => Error) {
    this.#onError = onError;
    const events = { onRoom: () => this.#kick(), onError: (err: unknown) => this.#failed(err) };
    const outbound = queuesOf(conn)?.outbound;
    this.#out = outbound !== undefined ? new QueueOutbox(outbound, events) : new ConnOutbox(conn, events);
  }

  /** Whether a stream's write may go out at once, with nothing queued here to go before it. */
  get idle(): boolean {
    return this.#state === "open" && this.#control.length === 0 && this.#ready.length === 0;
  }

  /**
   * Writes a Data frame of `bytes` on `streamId` now; the writer must be
   * {@linkcode FrameWriter.idle}, and the stream must hold the credit. A
   * payload copied behind its header (a small one; any, over a conn without
   * queues) is done at once: a number. A bigger one over a QueueConn goes as
   * the caller's own bytes, and the promise settles once the conn let go of
   * them, rejecting with what `onError` says if it failed. `undefined`: no
   * room for it now; the stream queues it.
   */
  data(streamId: number, bytes: Uint8Array): number | Promise<number> | undefined {
    const out = this.#out;
    const n = bytes.byteLength;
    const copied = n <= COPY_UP_TO || !(out instanceof QueueOutbox);
    const end = out.at + HEADER_SIZE + (copied ? n : 0);
    if (end - out.at > out.room) return undefined;
    const buffer = out.buffer;
    encodeHeader(buffer, out.at, Type.Data, 0, streamId, n);
    if (n <= SMALL_COPY) {
      const at = out.at + HEADER_SIZE;
      for (let i = 0; i < n; i++) buffer[at + i] = bytes[i];
    } else if (copied) {
      buffer.set(bytes, out.at + HEADER_SIZE);
    }
    out.commit(end);
    return copied ? n : out.direct(bytes);
  }

  /** Queues a header-only frame ahead of the streams' frames. */
  control(type: number, flags: number, streamId: number, length: number): void {
    if (this.#state !== "open") return;
    this.#control.push({ type, flags, streamId, length });
    this.#kick();
  }

  /** Whether {@linkcode FrameWriter.controlRoom} would wait. */
  get controlFull(): boolean {
    return this.#control.length >= CONTROL_LIMIT && this.#state !== "done";
  }

  /**
   * `undefined` while few enough control frames are queued, else a promise
   * that resolves once they are, or writing ended: a peer that makes the
   * session answer (pings, resets) and does not read the answers is not read
   * from either until it does.
   */
  controlRoom(): Promise<void> | undefined {
    if (!this.controlFull) return undefined;
    return this.#controlRoom.wait(undefined);
  }

  /**
   * Puts `source` in line for turns, which it takes until it has nothing
   * more to send: then {@linkcode FrameSource.turnsEnded}. The first may
   * come before this returns.
   */
  ready(source: FrameSource): void {
    if (this.#state === "done") return;
    this.#ready.push(source);
    this.#kick();
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
    const out = this.#out;
    while (this.#state !== "done") {
      if (this.#control.length === 0 && this.#ready.length === 0) {
        if (this.#state === "finishing" && out.idle) this.#end();
        return;
      }
      // Unless the conn holds so much of the outbox that a batch would be
      // small: then the next one waits for the conn to take more.
      if (out.room < MIN_BATCH && !out.idle) return;
      // Written as soon as there is something to write, in the same tick as
      // the write or window update that made it: no loop to wake first.
      const start = out.at;
      const end = this.#fillBatch(out.buffer, start, start + out.room);
      if (end > start) out.commit(end);
    }
  }

  #failed(err: unknown): Error {
    if (this.#state !== "done") this.#end();
    return this.#onError(err);
  }

  #end(): void {
    this.#state = "done";
    this.#control.removeFrom(0);
    this.#ready.removeFrom(0);
    for (const w of this.#controlRoom.drain()) w.resolve();
    this.#done.resolve();
  }

  /** Fills a batch into `batch[start..end)`: control frames, then stream frames in turn while they fit. Returns its end. */
  #fillBatch(batch: Uint8Array, start: number, end: number): number {
    let at = start;
    const control = this.#control;
    while (control.length > 0 && at + HEADER_SIZE <= end) {
      const frame = control.shift();
      encodeHeader(batch, at, frame.type, frame.flags, frame.streamId, frame.length);
      at += HEADER_SIZE;
    }
    if (control.length < CONTROL_LIMIT) { for (const w of this.#controlRoom.drain()) w.resolve(); }
    const ready = this.#ready;
    // A source with more to send and credit for it always fills some of
    // the room there is, so the line empties or the batch fills.
    while (ready.length > 0 && at + 2 * HEADER_SIZE < end) {
      const source = ready.shift();
      at = source.fill(batch, at, end);
      if (source.wantsMore) ready.push(source);
      else source.turnsEnded();
    }
    return at;
  }
}
