/**
 * The kit's own assertions. The kit runs on Deno, Node and in browsers, so it
 * cannot lean on `node:assert`; and the person reading a failure is debugging
 * their own transport, so every failure says what was expected and what came
 * instead. Private to the kit.
 *
 * @module
 */

/** A broken rule: its message says what was expected and what came. */
export class AssertionError extends Error {
  /** Makes the error from a complete message. */
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

/** Text that goes into a failure message as it is, not quoted as a string value. */
class Described {
  constructor(readonly text: string) {}
}

/** Marks `text` as a description ("it resolved with 3") rather than a value to show. */
export function described(text: string): unknown {
  return new Described(text);
}

/** Describes any value briefly for a failure message. */
export function show(value: unknown): string {
  if (value instanceof Described) return value.text;
  if (value instanceof Error || value instanceof DOMException) {
    const code = (value as { code?: unknown }).code;
    const name = typeof code === "string" ? `${value.name} [${code}]` : value.name;
    return value.message ? `${name}: ${value.message}` : name;
  }
  if (value instanceof Uint8Array) return showBytes(value);
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function") return `function ${value.name || "(anonymous)"}`;
  if (value === null || typeof value !== "object") return String(value);
  try {
    const json = JSON.stringify(value);
    if (json !== undefined) return json.length > 200 ? `${json.slice(0, 200)}...` : json;
  } catch {
    // cyclic or otherwise not serialisable: fall through to the tag
  }
  return Object.prototype.toString.call(value);
}

/** `Uint8Array(n) [1, 2, 3, ...]`, at most 16 bytes shown. */
function showBytes(bytes: Uint8Array): string {
  const shown = Array.from(bytes.subarray(0, 16)).join(", ");
  return `Uint8Array(${bytes.length}) [${shown}${bytes.length > 16 ? ", ..." : ""}]`;
}

/** Fails: `what: expected EXPECTED, got GOT`. */
export function fail(what: string, expected: string, got: unknown): never {
  throw new AssertionError(`${what}: expected ${expected}, got ${show(got)}`);
}

/** Fails unless `condition` holds; the message is built as for {@linkcode fail}. */
export function assert(condition: boolean, what: string, expected: string, got: unknown): asserts condition {
  if (!condition) fail(what, expected, got);
}

/** Fails unless `actual` is `expected` (`Object.is`). */
export function equal<T>(actual: T, expected: T, what: string): void {
  if (!Object.is(actual, expected)) fail(what, show(expected), actual);
}

/** Fails unless the two byte arrays hold the same bytes, naming the first difference. */
export function bytesEqual(actual: Uint8Array, expected: Uint8Array, what: string): void {
  const n = Math.min(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    if (actual[i] !== expected[i]) {
      fail(
        `${what}, byte ${i}`,
        `${expected[i]} (from ${show(expected.subarray(i))})`,
        described(`${actual[i]} (in ${show(actual.subarray(i))})`),
      );
    }
  }
  if (actual.length !== expected.length) {
    fail(
      what,
      `${expected.length} bytes, ${show(expected)}`,
      described(`${actual.length} bytes, ${show(actual)}`),
    );
  }
}

/** What an error must be, and how to say so in a message. */
export interface Expected {
  /** How the expected error reads in a message: "ConnClosedError", "the signal's reason"... */
  readonly description: string;
  /** Whether `err` is such an error. */
  test(err: unknown): boolean;
}

/** An error that is an instance of `type`. */
export function instanceOf(type: abstract new (...args: never[]) => unknown): Expected {
  return { description: `a ${type.name}`, test: (err) => err instanceof type };
}

/** Exactly `reason` (the same object). */
export function same(reason: unknown, description = "the signal's reason"): Expected {
  return { description: `${description} (${show(reason)})`, test: (err) => err === reason };
}

/** The `DOMException` named `TimeoutError` that `AbortSignal.timeout` aborts with. */
export const timeoutError: Expected = {
  description: 'a DOMException named "TimeoutError"',
  test: isTimeoutError,
};

/** Whether `err` is the reason `AbortSignal.timeout` aborts with. */
export function isTimeoutError(err: unknown): boolean {
  return err instanceof DOMException && err.name === "TimeoutError";
}

/**
 * Awaits `promise`, failing unless it rejects with an error that `expected`
 * accepts; returns that error.
 */
export async function rejects(promise: Promise<unknown>, expected: Expected, what: string): Promise<unknown> {
  let value: unknown;
  try {
    value = await promise;
  } catch (err) {
    if (!expected.test(err)) fail(what, `to reject with ${expected.description}`, err);
    return err;
  }
  fail(what, `to reject with ${expected.description}`, described(`it resolved with ${show(value)}`));
}
