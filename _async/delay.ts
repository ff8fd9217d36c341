/**
 * A sleep that its signal can cut short. Private to the package.
 *
 * @module
 */

import { waiter } from "./waiter.ts";

/**
 * Resolves after `ms` milliseconds; rejects with the signal's reason (or
 * what `abortError` makes of it) as soon as `signal` aborts, clearing the
 * timer.
 */
export function delay(
  ms: number,
  signal?: AbortSignal,
  abortError?: (reason: unknown) => unknown,
): Promise<void> {
  const w = waiter<void>(signal, (reason) => {
    clearTimeout(timer);
    return abortError?.(reason);
  });
  const timer = setTimeout(() => w.resolve(), ms);
  if (signal?.aborted) {
    clearTimeout(timer);
    w.reject(abortError ? abortError(signal.reason) : signal.reason);
  }
  return w.promise;
}
