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
  if (signal?.aborted) {
    return Promise.reject(abortError ? abortError(signal.reason) : signal.reason);
  }
  // The signal has not aborted, so `onAbort` runs only once `timer` is set.
  const w = waiter<void>(signal, (reason) => {
    clearTimeout(timer);
    return abortError?.(reason);
  });
  const timer = setTimeout(() => w.resolve(), ms);
  return w.promise;
}
