/**
 * The session's one writer: frames from every stream, written to the conn
 * underneath in as few writes as it takes. Control frames (window updates,
 * pings, opens, resets, GoAway) go first; Data frames (and the FIN or RST that
 * must follow a stream's data) go in the order streams queued them, one
 * frame per stream at a time, so a busy stream can't starve the others.
 * Private to `mux/`.
 *
 * @module
 */

import type { Conn } from "../conn.ts";
import { Fifo } from "../_async/fifo.ts";
import { WaitQueue } from "../_async/wait_queue.ts";
import { type Waiter, waiter } from "../_async/waiter.ts";
import { encodeHeader, HEADER_SIZE, Type } from "./const.ts";

/** The most payload one Data frame carries. */
export const MAX_PAYLOAD = 64 * 1024;
/** Payloads up to this size are copied into the batch; bigger ones are written from their own buffer. */
const COPY_BELOW = 16 * 1024;
/** The batch buffer: headers and small payloads gathered into one conn write. */
const BATCH_SIZE = 64 * 1024;
/** Payload bytes queued across streams before their pumps wait for the conn. */
const QUEUE_LIMIT = 256 * 1024;
/** Control frames queued before the session stops reading from a peer that makes it answer but does not read. */
const CONTROL_LIMIT = 4096;

/** Who a Data frame belongs to. */
export interface FrameOwner {
  /** The stream id. */
  readonly id: number;
  /** Whether the peer would ignore what the stream still has queued (it was reset): then it is not sent. */
  readonly discard: boolean;
}

interface Control {
  type: number;
  flags: number;
  streamId: number;
  length: number;
}

interface Data {
  owner: FrameOwner;
  flags: number;
  payload: Uint8Array | null;
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
  readonly #data = new Fifo<Data>();
  readonly #room = new WaitQueue<void>();
  readonly #controlRoom = new WaitQueue<void>();
  readonly #batch = new Uint8Array(BATCH_SIZE);
  #queued = 0;
  #state: State = "open";
  #wake: Waiter<void> | null = null;
  readonly #done: Promise<void>;

  /** Starts writing to `conn`; a failed write goes to `onError`, once. */
  constructor(conn: Conn, onError: (err: unknown) => void) {
    this.#conn = conn;
    this.#onError = onError;
    this.#done = this.#run();
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

  /** Queues a header-only frame ahead of the Data frames. */
  control(type: number, flags: number, streamId: number, length: number): void {
    if (this.#state !== "open") return;
    this.#control.push({ type, flags, streamId, length });
    this.#kick();
  }

  /**
   * Queues a Data frame (or, with no payload, a WindowUpdate carrying
   * `flags`, for a FIN or RST that must follow the stream's data). Returns
   * `false` once so much is queued that the caller should wait for
   * {@linkcode FrameWriter.room}.
   */
  data(owner: FrameOwner, flags: number, payload: Uint8Array | null): boolean {
    if (this.#state !== "open") return true;
    this.#data.push({ owner, flags, payload });
    this.#queued += payload?.byteLength ?? 0;
    this.#kick();
    return this.#queued < QUEUE_LIMIT;
  }

  /** Resolves once the queue is below its limit, or writing ended. */
  room(): Promise<void> {
    if (this.#queued < QUEUE_LIMIT || this.#state === "done") return Promise.resolve();
    return this.#room.wait(undefined);
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
    return this.#done;
  }

  /** Stops at once: what is queued is dropped. */
  stop(): void {
    this.#end();
  }

  /** Whether writing ended (a getter, so that checks after an await are not narrowed away). */
  get #stopped(): boolean {
    return this.#state === "done";
  }

  #kick(): void {
    const wake = this.#wake;
    if (wake !== null) {
      this.#wake = null;
      wake.resolve();
    }
  }

  #end(): void {
    this.#state = "done";
    this.#control.removeFrom(0);
    this.#data.removeFrom(0);
    this.#queued = 0;
    for (const w of this.#room.drain()) w.resolve();
    for (const w of this.#controlRoom.drain()) w.resolve();
    this.#kick();
  }

  async #run(): Promise<void> {
    while (this.#state !== "done") {
      if (this.#control.length === 0 && this.#data.length === 0) {
        if (this.#state === "finishing") break;
        const wake = this.#wake = waiter<void>();
        await wake.promise;
        continue;
      }
      try {
        await this.#writeRound();
      } catch (err) {
        if (!this.#stopped) {
          this.#end();
          this.#onError(err);
        }
        return;
      }
    }
    this.#end();
  }

  /** Writes one batch: control frames, then Data frames while they fit, maybe one big payload after it. */
  #writeRound(): Promise<unknown> {
    const batch = this.#batch;
    let at = 0;
    const control = this.#control;
    while (control.length > 0 && at + HEADER_SIZE <= BATCH_SIZE) {
      const frame = control.shift();
      encodeHeader(batch, at, frame.type, frame.flags, frame.streamId, frame.length);
      at += HEADER_SIZE;
    }
    if (control.length < CONTROL_LIMIT) { for (const w of this.#controlRoom.drain()) w.resolve(); }
    let big: Uint8Array | null = null;
    const data = this.#data;
    while (data.length > 0) {
      const { owner, flags, payload } = data.at(0);
      const length = payload?.byteLength ?? 0;
      const inBatch = length < COPY_BELOW;
      if (at + HEADER_SIZE + (inBatch ? length : 0) > BATCH_SIZE) break;
      data.shift();
      this.#queued -= length;
      if (owner.discard) continue;
      const type = payload === null ? Type.WindowUpdate : Type.Data;
      encodeHeader(batch, at, type, flags, owner.id, length);
      at += HEADER_SIZE;
      if (payload === null) continue;
      if (!inBatch) {
        big = payload;
        break;
      }
      batch.set(payload, at);
      at += length;
    }
    if (this.#queued < QUEUE_LIMIT) { for (const w of this.#room.drain()) w.resolve(); }
    if (at === 0) return Promise.resolve();
    const writing = this.#conn.write(batch.subarray(0, at));
    if (big === null) return writing;
    // Issued together, so no other write can come between a header and its payload.
    return Promise.all([writing, this.#conn.write(big)]);
  }
}
