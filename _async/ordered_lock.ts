/**
 * An async lock that grants its turns in call order: how a framed conn keeps
 * concurrent sends from interleaving and serves concurrent receives in order.
 * Private to the package.
 *
 * @module
 */

import { WaitQueue } from "./wait_queue.ts";

/**
 * One holder at a time, the others in line in call order. A waiter whose
 * signal aborts leaves the line at once, having held nothing.
 */
export class OrderedLock {
  #held = false;
  #line = new WaitQueue<void>();

  /** Whether someone holds the lock. */
  get held(): boolean {
    return this.#held;
  }

  /** How many callers wait in line for it. */
  get waiting(): number {
    return this.#line.length;
  }

  /** Takes the lock if it is free, without waiting; `true` if taken. */
  tryAcquire(): boolean {
    if (this.#held) return false;
    this.#held = true;
    return true;
  }

  /** Resolves once the caller holds the lock; it must then `release()` it. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.tryAcquire()) return Promise.resolve();
    return this.#line.wait(undefined, signal);
  }

  /** Hands the lock to the next waiter in line, or frees it. */
  release(): void {
    if (!this.#line.resolveNext()) this.#held = false;
  }
}
