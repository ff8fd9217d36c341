/**
 * Waiting on work that can't itself be cancelled (a native connect, say)
 * within a signal. Private to the package.
 *
 * @module
 */

import { noop, waiter } from "./waiter.ts";

/**
 * `work`, or a rejection as soon as `signal` aborts: with the signal's
 * reason, or with what `abortError(reason)` makes of it. Should `work`
 * succeed after that, `late` gets its result (to close a conn nobody will
 * use); a late failure is dropped.
 */
export function abortable<T>(
  work: Promise<T>,
  signal: AbortSignal | undefined,
  late: (value: T) => void = noop,
  abortError?: (reason: unknown) => unknown,
): Promise<T> {
  if (signal === undefined) return work;
  let abandoned = false;
  // An already-aborted signal rejects at once, in here.
  const w = waiter<T>(signal, (reason) => {
    abandoned = true;
    return abortError?.(reason);
  });
  work.then((value) => abandoned ? late(value) : w.resolve(value), (err) => w.reject(err));
  return w.promise;
}
