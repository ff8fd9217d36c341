/**
 * Callers waiting in line, served in call order; one whose signal aborts
 * leaves the line at once. Accepts, connects, readers and lock holders all
 * wait this way. Private to the package.
 *
 * @module
 */

import { Fifo } from "./fifo.ts";
import { type Waiter, waiter } from "./waiter.ts";

/** A waiting caller and what it brought (a buffer to fill, a conn to hand over...). */
export interface Waiting<T, D> extends Waiter<T> {
  /** What the caller brought. */
  data: D;
}

/** A FIFO of waiting callers. */
export class WaitQueue<T, D = undefined> {
  #line = new Fifo<Waiting<T, D>>();

  /** How many callers wait. */
  get length(): number {
    return this.#line.length;
  }

  /**
   * Joins the line with `data`. The promise settles when served; should the
   * signal abort first, the caller leaves the line and it rejects with the
   * reason (or with what `onAbort` returns, if not `undefined`).
   */
  wait(data: D, signal?: AbortSignal, onAbort?: (reason: unknown) => unknown): Promise<T> {
    if (signal?.aborted) {
      // Never joins the line: a value served to it would be lost.
      const replaced = onAbort?.(signal.reason);
      return Promise.reject(replaced === undefined ? signal.reason : replaced);
    }
    // The waiter itself stands in line, carrying the data: one object less per
    // wait, on the path of every read that finds its queue empty.
    const entry = (signal === undefined ? waiter<T>() : waiter<T>(signal, (reason) => {
      const i = this.#line.indexOf(entry);
      if (i >= 0) this.#line.removeAt(i);
      return onAbort?.(reason);
    })) as Waiting<T, D>;
    entry.data = data;
    this.#line.push(entry);
    return entry.promise;
  }

  /** The first caller in line; the line must not be empty. */
  first(): Waiting<T, D> {
    return this.#line.at(0);
  }

  /** Takes the first caller out of the line; the line must not be empty. */
  shift(): Waiting<T, D> {
    return this.#line.shift();
  }

  /** Serves the first caller with `value`; `false` if nobody waits. */
  resolveNext(value: T): boolean {
    if (this.#line.length === 0) return false;
    this.#line.shift().resolve(value);
    return true;
  }

  /** Takes everyone out of the line, in order. */
  drain(): Waiting<T, D>[] {
    return this.#line.removeFrom(0);
  }

  /** Rejects everyone in line with `reason`. */
  rejectAll(reason: unknown): void {
    for (const w of this.drain()) w.reject(reason);
  }
}
