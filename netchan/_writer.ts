/**
 * Writes a link's messages to its stream as typed frames
 * (`length:u32 type:u32 body`), many per stream write: messages appended
 * while a write is under way go out together in the next one. An ACK is
 * not appended as it is asked for but written when the next batch goes
 * out, carrying every count gathered until then, so a fast reader costs one
 * ACK per batch, not one per value. Private to netchan.
 *
 * @module
 */

import type { Conn } from "../conn.ts";
import { Fifo } from "../_async/fifo.ts";
import { type Waiter, waiter } from "../_async/waiter.ts";
import { gather } from "../_async/gather.ts";
import { ackBody, Type } from "./_wire.ts";

/** Bytes of a typed frame header. */
const HEADER = 8;
/** Small messages are gathered into buffers of this size. */
const BATCH = 16 * 1024;
/**
 * Microtask turns with nothing appended after which a batch goes out: long
 * enough for a producer that awaits each write to append its next value.
 */
const QUIET_TURNS = 96;
/** How {@linkcode Writer}'s batch waits for more (see `_async/gather.ts`); a trickle stops it after 4096 turns. */
const GATHER_LIMITS = { enough: BATCH / 2, quietTurns: QUIET_TURNS, maxTurns: 4096 };
/** A body bigger than this is written as it is, after its header. */
const BIG = 8 * 1024;

/** The writer's state: writing or not, or done for good. */
type State =
  | { readonly kind: "idle" }
  | { readonly kind: "writing" }
  | { readonly kind: "closed" }
  | { readonly kind: "failed"; readonly error: unknown };

/** Writes messages to one stream, in order; one pump at a time. */
export class MessageWriter {
  readonly #conn: Conn;
  readonly #onError: (err: unknown) => void;
  /** Sealed segments, ready to write in order. */
  readonly #segments = new Fifo<Uint8Array>();
  /** The batch small messages go into, and how much of it is used. */
  #tail: Uint8Array | null = null;
  #tailView: DataView | null = null;
  #tailLength = 0;
  /** A batch buffer that was written and may be filled again. */
  #spare: Uint8Array | null = null;
  #state: State = { kind: "idle" };
  /** Gives the counts of the ACK to write now, or `null` if none is due. */
  #ack: (() => [number, number] | null) | null = null;
  #ackDue = false;
  /** Callers waiting for everything appended so far to be written. */
  #flushed: Waiter<void>[] = [];

  /** A writer for `conn`; `onError` hears of a failed write, once. */
  constructor(conn: Conn, onError: (err: unknown) => void) {
    this.#conn = conn;
    this.#onError = onError;
  }

  /** Whether messages can still be written. */
  get open(): boolean {
    return this.#state.kind === "idle" || this.#state.kind === "writing";
  }

  /** Appends one message; `body` must not change until it is written. */
  send(type: number, body: Uint8Array): void {
    if (!this.open) return;
    if (body.length > BIG) {
      this.#seal();
      const header = new Uint8Array(HEADER);
      new DataView(header.buffer).setUint32(0, body.length);
      new DataView(header.buffer).setUint32(4, type);
      this.#segments.push(header);
      this.#segments.push(body);
    } else {
      this.#append(type, body);
    }
    this.#kick();
  }

  /**
   * Asks for an ACK in the next batch; `counts` is called when the batch is
   * sealed and gives `[taken, credit]`, or `null` if by then there is
   * nothing to acknowledge.
   */
  ack(counts: () => [number, number] | null): void {
    if (!this.open) return;
    this.#ack = counts;
    this.#ackDue = true;
    this.#kick();
  }

  /** Resolves once everything appended so far is written (or the writer is done). */
  flushed(): Promise<void> {
    if (this.#state.kind !== "writing" && this.#segments.length === 0 && this.#tailLength === 0) {
      return Promise.resolve();
    }
    const w = waiter<void>();
    this.#flushed.push(w);
    return w.promise;
  }

  /** Stops writing; what is not yet written is dropped. */
  close(): void {
    if (!this.open) return;
    this.#state = { kind: "closed" };
    this.#release();
  }

  #append(type: number, body: Uint8Array): void {
    const size = HEADER + body.length;
    if (this.#tail === null || this.#tail.length - this.#tailLength < size) {
      this.#seal();
      this.#tail = this.#spare ?? new Uint8Array(BATCH);
      this.#spare = null;
      this.#tailView = new DataView(this.#tail.buffer);
    }
    const at = this.#tailLength;
    this.#tailView!.setUint32(at, body.length);
    this.#tailView!.setUint32(at + 4, type);
    this.#tail.set(body, at + HEADER);
    this.#tailLength = at + size;
  }

  /** Moves the batch, with the ACK if one is due, to the segments. */
  #seal(): void {
    if (this.#ackDue) {
      this.#ackDue = false;
      const counts = this.#ack!();
      if (counts !== null) this.#append(Type.ACK, ackBody(counts[0], counts[1]));
    }
    if (this.#tail !== null && this.#tailLength > 0) {
      this.#segments.push(this.#tail.subarray(0, this.#tailLength));
      this.#tail = null;
      this.#tailLength = 0;
    }
  }

  #kick(): void {
    if (this.#state.kind === "idle") this.#pump();
  }

  async #pump(): Promise<void> {
    this.#state = { kind: "writing" };
    try {
      for (;;) {
        if (this.#segments.length === 0) {
          await this.#gather();
          if (!this.open) return;
          this.#seal();
        }
        if (this.#segments.length === 0) break;
        const segment = this.#segments.shift();
        await this.#conn.write(segment);
        // A written batch buffer is ours again (a conn keeps no buffer once
        // its write resolves): refill it rather than allocate.
        if (segment.buffer.byteLength === BATCH && this.#spare === null) {
          this.#spare = new Uint8Array(segment.buffer);
        }
        if (!this.open) return;
      }
    } catch (err) {
      if (!this.open) return;
      this.#state = { kind: "failed", error: err };
      this.#release();
      this.#onError(err);
      return;
    }
    if (this.#state.kind === "writing") this.#state = { kind: "idle" };
    this.#release();
  }

  /**
   * Lets the batch fill while its producers are busy: waits out microtasks
   * until {@linkcode QUIET_TURNS} pass with nothing appended, or a batch
   * is full. A writer that awaits each value appends one every few
   * microtasks, so its values go out many to a write instead of one;
   * a lone message waits only those few turns, never for a timer.
   */
  async #gather(): Promise<void> {
    // A big message (a segment of its own) ends the wait like a full batch.
    await gather(() => this.#segments.length > 0 ? BATCH : this.#tailLength, GATHER_LIMITS);
  }

  #release(): void {
    if (this.#state.kind === "writing") return;
    for (const w of this.#flushed.splice(0)) w.resolve();
  }
}
