/**
 * Errors made only when someone sees them. Making an `Error` in Deno costs
 * microseconds (the stack is captured, async frames included), so closing
 * a conn that nobody reads or writes any more, the common case, must not
 * make the errors later calls would get. Private to the package.
 *
 * @module
 */

/** An error to be made on first use, then the same one every time. */
export type LazyError = () => Error;

/** Memoizes `make`. */
export function lazyError(make: () => Error): LazyError {
  let made: Error | undefined;
  return () => made ??= make();
}

/** `error` as a {@linkcode LazyError}: an error made already, or one to make on first use. */
export function asLazy(error: Error | LazyError): LazyError {
  return typeof error === "function" ? lazyError(error) : () => error;
}
