/**
 * A promise settled from outside that its caller may stop waiting for: the
 * one place where a waiting call attaches to its signal, leaves on abort
 * and rejects with the reason. Private to the package.
 *
 * @module
 */

/** Does nothing; the callback for nothing to do. */
export function noop(): void {}

/**
 * `Promise.withResolvers`, which V8 makes cheaper than a promise with an
 * executor (the hottest allocation of a waiting read), where the runtime
 * has it; Node 20 lacks it, hence the fallback.
 */
const withResolvers: <T>() => Waiter<T> = typeof Promise.withResolvers === "function"
  ? <T>() => Promise.withResolvers<T>()
  : <T>() => {
    let resolve!: (value: T) => void;
    let reject!: (reason: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };

/** One waiting call: settle it with `resolve` or `reject`, once. */
export interface Waiter<T> {
  /** What the caller awaits. */
  readonly promise: Promise<T>;
  /** Settles the call with `value`, unless it settled already. */
  resolve(value: T): void;
  /** Settles the call with `reason`, unless it settled already. */
  reject(reason: unknown): void;
}

/**
 * Makes a waiter. Should `signal` abort first, `onAbort` runs (to take the
 * waiter out of whatever line it stands in) and the promise rejects with
 * the signal's reason, or with what `onAbort` returns if that is not
 * `undefined`. A signal that has already aborted does so at once, before
 * this returns. Settling detaches the abort listener.
 */
export function waiter<T>(signal?: AbortSignal, onAbort?: (reason: unknown) => unknown): Waiter<T> {
  const deferred = withResolvers<T>();
  // Without a signal there is nothing to detach: a promise settles once anyway.
  if (signal === undefined) return deferred;
  const { promise, resolve: settle, reject: fail } = deferred;
  if (signal.aborted) {
    const replaced = onAbort?.(signal.reason);
    fail(replaced === undefined ? signal.reason : replaced);
    return { promise, resolve: noop, reject: noop };
  }
  const abort = () => {
    signal.removeEventListener("abort", abort);
    const reason = signal.reason;
    const replaced = onAbort?.(reason);
    fail(replaced === undefined ? reason : replaced);
  };
  signal.addEventListener("abort", abort, { once: true });
  return {
    promise,
    resolve(value) {
      signal.removeEventListener("abort", abort);
      settle(value);
    },
    reject(reason) {
      signal.removeEventListener("abort", abort);
      fail(reason);
    },
  };
}

/**
 * Runs `onAbort` once, if `signal` aborts before the returned function is
 * called; that function detaches it.
 */
export function onAbort(signal: AbortSignal | undefined, onAbort: () => void): () => void {
  if (signal === undefined) return noop;
  signal.addEventListener("abort", onAbort, { once: true });
  return () => signal.removeEventListener("abort", onAbort);
}
