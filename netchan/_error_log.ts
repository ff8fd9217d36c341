/**
 * The `errors` stream of an exporter or importer: bounded, and never in
 * anyone's way. Private to netchan.
 *
 * @module
 */

import { Fifo } from "../_async/fifo.ts";
import type { ChannelError } from "./errors.ts";

/** How many errors wait unread before the oldest are dropped. */
export const DEFAULT_MAX_ERRORS = 64;

/**
 * Keeps the latest `max` errors for whoever reads `readable`. Nobody has
 * to read it: once `max` errors wait, each new one drops the oldest, and
 * `dropped` counts them. Nothing else slows down or stops for it.
 */
export class ErrorLog {
  readonly #max: number;
  readonly #queue = new Fifo<ChannelError>();
  #dropped = 0;
  #controller: ReadableStreamDefaultController<ChannelError> | null = null;
  #waiting: (() => void) | null = null;
  #closed = false;
  readonly readable: ReadableStream<ChannelError>;

  /** A log keeping up to `max` unread errors. */
  constructor(max: number) {
    this.#max = max;
    this.readable = new ReadableStream<ChannelError>({
      start: (controller) => {
        this.#controller = controller;
      },
      pull: () => {
        if (this.#deliver()) return;
        if (this.#closed) return this.#controller!.close();
        return new Promise<void>((resolve) => this.#waiting = resolve);
      },
      cancel: () => {
        this.#closed = true;
        this.#queue.removeFrom(0);
      },
    }, { highWaterMark: 0 });
  }

  /** Errors dropped unread because `max` were waiting. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Logs `err`. */
  report(err: ChannelError): void {
    if (this.#closed) return;
    if (this.#queue.length >= this.#max) {
      this.#queue.shift();
      this.#dropped++;
    }
    this.#queue.push(err);
    this.#wake();
  }

  /** Ends the stream once the waiting errors are read. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#wake();
  }

  #wake(): void {
    const waiting = this.#waiting;
    if (waiting === null) return;
    this.#waiting = null;
    if (!this.#deliver() && this.#closed) this.#controller!.close();
    waiting();
  }

  #deliver(): boolean {
    if (this.#queue.length === 0) return false;
    this.#controller!.enqueue(this.#queue.shift());
    return true;
  }
}
