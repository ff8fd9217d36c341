/**
 * Argument checks shared by every entry point: bad arguments are the
 * platform's `TypeError` or `RangeError`, with a message that names the
 * argument, says what was expected and shows what came. Private to the
 * package; transport authors get `checkBufferSize` from
 * `@tether/tether/transport`.
 *
 * @module
 */

import { type CallOptions, DEFAULT_BUFFER_SIZE } from "./conn.ts";
import { abortError, type ErrorContext } from "./errors.ts";

/** The longest delay a runtime timer takes (`setTimeout`, `AbortSignal.timeout`): past it, one fires at once. */
export const MAX_TIMEOUT = 2 ** 31 - 1;

/** Describes a bad argument for an error message. */
export function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (value === null || typeof value !== "object") return String(value);
  return Object.prototype.toString.call(value);
}

/**
 * Checks a `bufferSize` option (or another byte count, named `what`) and
 * returns it, or the default, 64 KiB.
 *
 * @example
 * ```ts
 * import { checkBufferSize } from "@tether/tether/transport";
 *
 * console.log(checkBufferSize(undefined)); // 65536
 * ```
 */
export function checkBufferSize(value: unknown, what = "bufferSize"): number {
  if (value === undefined) return DEFAULT_BUFFER_SIZE;
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw new TypeError(`${what} must be a whole number of bytes, got ${describe(value)}`);
  }
  if (value < 1) throw new RangeError(`${what} must be at least 1 byte, got ${value}`);
  return value;
}

/**
 * Checks a whole-number option, naming it `what`: a safe integer from `min`
 * to `max` (`TypeError` for anything else but a number, `RangeError` out of
 * range), or `fallback` for `undefined` when one is given. Private to the
 * package: every module's count, size and timeout options go through it.
 */
export function checkWhole(
  value: unknown,
  what: string,
  min: number,
  max: number,
  fallback?: number,
): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw new TypeError(`${what} must be a whole number, got ${describe(value)}`);
  }
  if (value < min || value > max) {
    throw new RangeError(
      max === Number.MAX_SAFE_INTEGER
        ? `${what} must be ${min} or more, got ${value}`
        : `${what} must be from ${min} to ${max}, got ${value}`,
    );
  }
  return value;
}

/** Checks that `p` is a `Uint8Array`, as the platform's sockets do. */
export function checkBytes(p: unknown, what = "buffer"): asserts p is Uint8Array {
  if (!(p instanceof Uint8Array)) {
    throw new TypeError(`${what} must be a Uint8Array, got ${describe(p)}`);
  }
}

/** Checks that `options` is an object, naming the function `fn` otherwise. */
export function checkOptions(options: unknown, fn: string): void {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`${fn}() takes an options object, got ${describe(options)}`);
  }
}

/**
 * What a call must reject with before it does anything, or `undefined` to go
 * ahead: a `TypeError` for a `signal` that is not an `AbortSignal`, or, for
 * one that already aborted, its reason (a read or write) or, given the
 * call's `context` (a connect, accept or handshake), an {@linkcode abortError}
 * naming the operation and the address.
 */
export function refusal(options: CallOptions | undefined, context?: ErrorContext): unknown {
  const signal = options?.signal;
  if (signal === undefined) return undefined;
  if (!(signal instanceof AbortSignal)) {
    return new TypeError(`signal must be an AbortSignal, got ${describe(signal)}`);
  }
  if (!signal.aborted) return undefined;
  return context === undefined ? signal.reason : abortError(signal.reason, context);
}

/** A rejected promise with the error `check` throws, or `null` when it throws nothing. */
export function rejection(check: () => void): Promise<never> | null {
  try {
    check();
  } catch (err) {
    return Promise.reject(err);
  }
  return null;
}
