/**
 * Many deadlines on one timer. Private to the package.
 *
 * @module
 */

import { MAX_TIMEOUT } from "../_validate.ts";

/**
 * Deadlines that share one runtime timer, armed for the earliest of them:
 * adding or removing one is a map operation, where a timer of its own
 * (`setTimeout`, `clearTimeout`) costs several microseconds, which a connect
 * or a close that sets one up and drops it again pays on its critical path.
 * A deadline fires at its time or a little after, never before.
 *
 * An unref'd timer stays armed when its last deadline goes: the next one,
 * added before it fires (deadlines one after another, as connects are, all
 * about as long), needs no timer of its own; when it fires early, it finds
 * nothing due and re-arms for what is left. A ref'd one is cleared, as it
 * would keep the process alive.
 */
export class SharedTimer {
  readonly #due = new Map<object, { at: number; fire: () => void }>();
  readonly #unref: boolean;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;

  /**
   * With `unref`, the timer does not keep the process alive (as
   * `AbortSignal.timeout`'s does not); by default it does.
   */
  constructor(options: { unref?: boolean } = {}) {
    this.#unref = options.unref === true;
  }

  /** Calls `fire` once `ms` have passed, unless `key` is removed first; replaces `key`'s earlier deadline. */
  add(key: object, ms: number, fire: () => void): void {
    const at = performance.now() + ms;
    this.#due.set(key, { at, fire });
    if (this.#timer === undefined || at < this.#timerAt) this.#arm(at);
  }

  /** Drops `key`'s deadline, if it has one. */
  remove(key: object): void {
    if (!this.#due.delete(key) || this.#due.size > 0 || this.#unref) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  #arm(at: number): void {
    clearTimeout(this.#timer);
    this.#timerAt = at;
    // A runtime timer takes at most 2^31 - 1 ms (longer fires at once): a later deadline is met by re-arming.
    const delayMs = Math.min(MAX_TIMEOUT, Math.max(0, at - performance.now()));
    const timer = this.#timer = setTimeout(() => this.#sweep(), delayMs);
    if (!this.#unref) return;
    const unref = (timer as { unref?: () => void }).unref;
    if (typeof unref === "function") unref.call(timer);
    else (globalThis as { Deno?: typeof Deno }).Deno?.unrefTimer(timer as unknown as number);
  }

  #sweep(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = performance.now();
    const fired: { at: number; fire: () => void }[] = [];
    let next = Infinity;
    for (const [key, entry] of this.#due) {
      if (entry.at <= now) {
        this.#due.delete(key);
        fired.push(entry);
      } else if (entry.at < next) {
        next = entry.at;
      }
    }
    if (next < Infinity) this.#arm(next);
    // Earliest first, even when a late sweep finds several due (a loaded machine).
    if (fired.length > 1) fired.sort((x, y) => x.at - y.at);
    // After re-arming: a deadline that a firing one adds or removes finds the timer in order.
    for (const { fire } of fired) fire();
  }
}
