/**
 * An async lock that grants its turns in call order: how a framed conn keeps
 * concurrent sends from interleaving and serves concurrent receives in order.
 * Internal to frame.ts.
 *
 * @module
 */

import { watch } from "../conn.ts";

interface Waiter {
  grant(): void;
}

/**
 * One holder at a time, the others in line in call order. A waiter whose
 * signal aborts leaves the line at once, having held nothing.
 */
export class OrderedLock {
  #held = false;
  #line: Waiter[] = [];

  /** Takes the lock if it is free, without waiting; `true` if taken. */
  tryAcquire(): boolean {
    if (this.#held) return false;
    this.#held = true;
    return true;
  }

  /** Resolves once the caller holds the lock; it must then `release()` it. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (!this.#held) {
      this.#held = true;
      return Promise.resolve();
    }
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const waiter: Waiter = {
      grant() {
        unwatch();
        resolve();
      },
    };
    const unwatch = watch(signal, () => {
      const i = this.#line.indexOf(waiter);
      if (i >= 0) this.#line.splice(i, 1);
      reject(signal!.reason);
    });
    this.#line.push(waiter);
    return promise;
  }

  /** Hands the lock to the next waiter in line, or frees it. */
  release(): void {
    const next = this.#line.shift();
    if (next === undefined) this.#held = false;
    else next.grant();
  }
}
