/**
 * Where received values wait for the application: the `ReadableStream`
 * behind an imported "recv" channel or an exported "send" one. It holds
 * only what the links' credit let in, and tells each value's link when the
 * reader has taken it, which is what returns credit to the sender. Private
 * to netchan.
 *
 * @module
 */

import { Fifo } from "../_async/fifo.ts";

/** The link a value came on: told when the value is taken. */
export interface Source {
  /** The reader took one of this link's values. */
  taken(): void;
}

/**
 * The inbox's state: `open`; `ending` (readers finish once the queue is
 * read); `failing` (readers get `error` once the queue is read); `done`
 * (closed or cancelled: nothing more goes in).
 */
type State =
  | { readonly kind: "open" }
  | { readonly kind: "ending" }
  | { readonly kind: "failing"; readonly error: unknown }
  | { readonly kind: "done" };

/** A queue of received values with a stream in front. */
export class Inbox<T = unknown> {
  readonly #values = new Fifo<T>();
  readonly #sources = new Fifo<Source>();
  readonly #onCancel: (reason: unknown) => void;
  #controller: ReadableStreamDefaultController<T> | null = null;
  #pulling: (() => void) | null = null;
  #state: State = { kind: "open" };
  /** The values, one chunk each; cancelling it calls `onCancel`. */
  readonly readable: ReadableStream<T>;

  /** An inbox whose reader's cancel calls `onCancel(reason)`. */
  constructor(onCancel: (reason: unknown) => void) {
    this.#onCancel = onCancel;
    this.readable = new ReadableStream<T>({
      start: (controller) => {
        this.#controller = controller;
      },
      pull: () => {
        if (this.#deliver()) return;
        if (this.#settle()) return;
        return new Promise<void>((resolve) => this.#pulling = resolve);
      },
      cancel: (reason) => {
        this.#state = { kind: "done" };
        this.drop();
        this.#onCancel(reason);
      },
    }, { highWaterMark: 0 });
  }

  /** Values waiting to be read. */
  get length(): number {
    return this.#values.length;
  }

  /** Whether values may still go in. */
  get open(): boolean {
    return this.#state.kind === "open";
  }

  /** A value from `source`, for the reader. */
  push(source: Source, value: T): void {
    if (this.#state.kind === "done") return;
    this.#values.push(value);
    this.#sources.push(source);
    this.#wake();
  }

  /** Readers finish once the waiting values are read. */
  end(): void {
    if (this.#state.kind !== "open") return;
    this.#state = { kind: "ending" };
    this.#wake();
  }

  /** Readers get `error` once the waiting values are read. */
  fail(error: unknown): void {
    if (this.#state.kind !== "open") return;
    this.#state = { kind: "failing", error };
    this.#wake();
  }

  /** Drops the waiting values (they are not delivered, and not taken). */
  drop(): void {
    this.#values.removeFrom(0);
    this.#sources.removeFrom(0);
  }

  /** Drops the waiting values that came from `source`. */
  dropFrom(source: Source): void {
    for (let i = this.#sources.length - 1; i >= 0; i--) {
      if (this.#sources.at(i) === source) {
        this.#sources.removeAt(i);
        this.#values.removeAt(i);
      }
    }
  }

  #wake(): void {
    const pulling = this.#pulling;
    if (pulling === null) return;
    if (this.#deliver() || this.#settle()) {
      this.#pulling = null;
      pulling();
    }
  }

  #deliver(): boolean {
    if (this.#values.length === 0 || this.#state.kind === "done") return false;
    const value = this.#values.shift();
    const source = this.#sources.shift();
    this.#controller!.enqueue(value);
    source.taken();
    return true;
  }

  /** Ends or errors the stream if that is due; `true` if it did. */
  #settle(): boolean {
    const state = this.#state;
    if (state.kind === "ending") {
      this.#state = { kind: "done" };
      this.#controller!.close();
      return true;
    }
    if (state.kind === "failing") {
      this.#state = { kind: "done" };
      this.#controller!.error(state.error);
      return true;
    }
    return false;
  }
}
