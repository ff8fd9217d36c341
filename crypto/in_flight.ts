/**
 * A short ordered line of pending results. WebCrypto calls are
 * asynchronous, so a pump starts several records' encryption (or
 * decryption) at once, then hands the results on in the order it started
 * them: throughput without reordering, and a bound on memory.
 *
 * @module
 */

import { noop } from "../_async/waiter.ts";

/** An ordered, bounded line of promises with one producer and one consumer. */
export class InFlight<T> {
  readonly #limit: number;
  readonly #items: Promise<T>[] = [];
  #room: (() => void) | null = null;
  #ready: (() => void) | null = null;
  #stopped = false;

  /** Holds at most `limit` pending results. */
  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Resolves `true` once there is room for another, or `false` once stopped. */
  async room(): Promise<boolean> {
    while (!this.#stopped && this.#items.length >= this.#limit) {
      await new Promise<void>((resolve) => this.#room = resolve);
    }
    return !this.#stopped;
  }

  /** Adds a pending result at the end of the line. */
  push(item: Promise<T>): void {
    // The consumer handles a rejection in its turn; it is never unhandled.
    item.catch(noop);
    this.#items.push(item);
    this.#ready?.();
    this.#ready = null;
  }

  /** The first result in line, once it settles; rejects as it does. */
  async next(): Promise<T> {
    while (this.#items.length === 0) {
      await new Promise<void>((resolve) => this.#ready = resolve);
    }
    const item = this.#items.shift()!;
    this.#room?.();
    this.#room = null;
    return await item;
  }

  /** Refuses more and resolves once every result in line has settled. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#room?.();
    this.#room = null;
    await Promise.allSettled(this.#items.splice(0));
  }
}
