/**
 * Runs checks on any runtime: plain functions, timers from `setTimeout`, no
 * `Deno` global. Each check gets a fresh subject and a {@linkcode CheckContext};
 * whatever happens, the subject is closed and the work the check started is
 * awaited and silenced before the next check starts, so a failing check
 * reports its own failure only.
 *
 * @module
 */

import type { Pair } from "./conn_checks.ts";

/**
 * What a check is given besides its subject: where it says which step it is
 * in, and how it starts work that runs alongside it.
 *
 * @example
 * ```ts
 * import { pipe } from "@tether/tether";
 * import { type Check, type Pair, runConnChecks } from "@tether/tether/testing";
 *
 * // A check of your own, run by the same runner as the kit's.
 * const echo: Check<Pair> = {
 *   id: "oneByte",
 *   title: "one byte crosses",
 *   async run({ a, b }, context) {
 *     context.step("read while the byte is written");
 *     const reading = context.spawn(b.read(new Uint8Array(1)));
 *     await a.write(new Uint8Array([1]));
 *     if ((await reading) !== 1) throw new Error("expected 1 byte");
 *   },
 * };
 * const [result] = await runConnChecks(() => pipe(), { checks: [echo] });
 * console.log(result.outcome); // "passed"
 * ```
 */
export interface CheckContext {
  /**
   * Names the step the check is in now; a failure, or the step timeout
   * firing, reports it.
   */
  step(name: string): void;
  /**
   * Starts `work` alongside the check and returns it, to await later. If the
   * check ends first (it failed, or timed out), the kit closes the subject,
   * then awaits `work` and ignores how it settles: no unhandled rejection,
   * nothing left running into the next check.
   */
  spawn<T>(work: Promise<T>): Promise<T>;
  /** Aborts once the check has failed or timed out: long loops in spawned work can stop early. */
  readonly signal: AbortSignal;
}

/**
 * One rule, checked on a fresh subject (a connected pair, or a listener and
 * its dialer).
 *
 * @example
 * ```ts
 * import { connChecks } from "@tether/tether/testing";
 *
 * for (const check of connChecks.slice(0, 2)) console.log(check.id, "-", check.title);
 * ```
 */
export interface Check<S = Pair> {
  /** A stable name, for `skip` and `only`: `basicIO`, `halfClose`... */
  readonly id: string;
  /** What the check proves, in a sentence. */
  readonly title: string;
  /** Runs the check; rejects if the rule is broken. */
  run(subject: S, context: CheckContext): Promise<void>;
}

/**
 * How one check came out.
 *
 * @example
 * ```ts
 * import { pipe } from "@tether/tether";
 * import { runConnChecks } from "@tether/tether/testing";
 *
 * const results = await runConnChecks(() => pipe(), { only: ["halfClose"] });
 * const halfClose = results.find((r) => r.outcome !== "skipped")!;
 * console.log(halfClose.id, halfClose.outcome); // "halfClose" "passed"
 * ```
 */
export interface CheckResult {
  /** The check's id. */
  readonly id: string;
  /** The check's title. */
  readonly title: string;
  /** Whether it passed, failed, or was left out by `skip` or `only`. */
  readonly outcome: "passed" | "failed" | "skipped";
  /**
   * Why it failed: the message names the check and the step it was in; the
   * `cause` is what the check threw.
   */
  readonly error?: Error;
  /** The step the check was in when it failed. */
  readonly step?: string;
  /** How long it ran, in milliseconds. */
  readonly ms: number;
}

/**
 * Options of the runners ({@linkcode runConnChecks}, `runListenerChecks`).
 *
 * @example
 * ```ts
 * import { pipe } from "@tether/tether";
 * import { type Pair, runConnChecks, type RunOptions } from "@tether/tether/testing";
 *
 * const options: RunOptions<Pair> = {
 *   stepTimeout: 10_000,
 *   skip: ["streams"], // say why at the call: e.g. no BYOB readers on this runtime
 *   onResult: (r) => r.outcome === "failed" && console.error(r.id, r.error),
 * };
 * await runConnChecks(() => pipe(), options);
 * ```
 */
export interface RunOptions<S = never> {
  /** The checks to run instead of the kit's own (your own, or a subset); the kit's by default. */
  checks?: readonly Check<S>[];
  /**
   * Milliseconds one check may take, making its subject included, before it
   * fails naming the step it was in; the same bound applies to closing the
   * subject afterwards. Default 30000.
   */
  stepTimeout?: number;
  /** Ids of checks to leave out; an id that names no check is an error. */
  skip?: readonly string[];
  /** Ids of the only checks to run; an id that names no check is an error. */
  only?: readonly string[];
  /** Called with each result as soon as its check is done. */
  onResult?: (result: CheckResult) => void;
}

/** How the runner gets a subject for a check, and gets rid of it. Internal. */
export interface Harness<S> {
  /** What making a subject is called in a failure: "make the pair". */
  readonly opening: string;
  /** Makes a fresh subject. */
  open(): Promise<S>;
  /** Closes everything the subject holds; called more than once. */
  close(subject: S): void;
  /** Settles once everything the subject holds is closed. */
  closed(subject: S): Promise<unknown>;
}

/** A check left out, or to run. */
interface Selected<S> {
  check: Check<S>;
  skipped: boolean;
}

/**
 * The checks in order, each marked skipped or not; throws a `RangeError`
 * for an id in `skip` or `only` that names no check.
 */
export function select<S>(checks: readonly Check<S>[], options: RunOptions<S>): Selected<S>[] {
  const ids = new Set(checks.map((c) => c.id));
  for (const [option, list] of [["skip", options.skip], ["only", options.only]] as const) {
    const unknown = (list ?? []).filter((id) => !ids.has(id));
    if (unknown.length > 0) {
      throw new RangeError(
        `${option} names no check: ${unknown.map((id) => JSON.stringify(id)).join(", ")}; ` +
          `the checks are ${[...ids].join(", ")}`,
      );
    }
  }
  return checks.map((check) => ({
    check,
    skipped: (options.skip ?? []).includes(check.id) ||
      (options.only !== undefined && !options.only.includes(check.id)),
  }));
}

/** Runs the selected checks one after another; never throws for a failing check. */
export async function runChecks<S>(
  checks: readonly Check<S>[],
  harness: Harness<S>,
  options: RunOptions<S>,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const { check, skipped } of select(checks, options)) {
    const result = skipped ? skippedResult(check) : await runCheck(check, harness, stepTimeout(options));
    results.push(result);
    options.onResult?.(result);
  }
  return results;
}

/** The step timeout `options` ask for, checked. */
export function stepTimeout(options: RunOptions<unknown>): number {
  const ms = options.stepTimeout ?? 30_000;
  if (typeof ms !== "number" || !(ms > 0) || !Number.isFinite(ms)) {
    throw new RangeError(`stepTimeout must be a positive number of milliseconds, got ${String(ms)}`);
  }
  return ms;
}

/** The result of a check left out. */
export function skippedResult<S>(check: Check<S>): CheckResult {
  return { id: check.id, title: check.title, outcome: "skipped", ms: 0 };
}

/** A check's failure, naming the check and the step it was in; `cause` is what it threw. */
class CheckFailedError extends Error {
  /** The step the check was in. */
  readonly step: string | undefined;
  constructor(id: string, step: string | undefined, cause: unknown) {
    const where = step === undefined ? "" : ` in step "${step}"`;
    const why = cause instanceof Error ? cause.message || cause.name : String(cause);
    super(`${id} failed${where}: ${why}`, { cause });
    this.name = "CheckFailedError";
    this.step = step;
  }
}

/** The step timeout fired. */
class StepTimeout extends Error {
  constructor(ms: number) {
    super(`still running after ${ms} ms (raise stepTimeout if the transport is merely slow)`);
    this.name = "StepTimeout";
  }
}

/**
 * Runs one check on a fresh subject within `timeoutMs`. Then, whatever
 * happened, closes the subject, awaits what the check started (within the
 * same bound, ignoring how it settles) and waits for the subject to close.
 */
export async function runCheck<S>(
  check: Check<S>,
  harness: Harness<S>,
  timeoutMs: number,
): Promise<CheckResult> {
  const started = Date.now();
  const controller = new AbortController();
  const spawned: Promise<unknown>[] = [];
  let step: string | undefined = harness.opening;
  const context: CheckContext = {
    step(name) {
      step = name;
    },
    spawn(work) {
      spawned.push(work.catch(() => {}));
      return work;
    },
    signal: controller.signal,
  };

  let subject: S | undefined;
  const body = (async () => {
    const opened = await harness.open();
    if (controller.signal.aborted) {
      harness.close(opened); // made too late: the check already failed
      return;
    }
    subject = opened;
    step = undefined;
    await check.run(opened, context);
  })();
  let failure: CheckFailedError | undefined;
  const timer = deadline(timeoutMs);
  try {
    await Promise.race([body, timer.expired]);
  } catch (err) {
    failure = new CheckFailedError(check.id, step, err);
  } finally {
    timer.cancel();
  }
  if (failure !== undefined) controller.abort(failure);

  // Clean up the same way whether it passed or not.
  if (subject !== undefined) harness.close(subject);
  const settled = await within(Promise.allSettled([body, ...spawned]), timeoutMs);
  if (subject !== undefined) {
    harness.close(subject); // again: conns that arrived meanwhile
    const closed = await within(harness.closed(subject), timeoutMs);
    if (failure === undefined && !closed) {
      failure = new CheckFailedError(check.id, "close the subject", new StepTimeout(timeoutMs));
    }
  }
  if (failure === undefined && !settled) {
    const cause = new Error(`work the check started was still pending ${timeoutMs} ms after closing`);
    failure = new CheckFailedError(check.id, "close the subject", cause);
  }
  const ms = Date.now() - started;
  return failure === undefined
    ? { id: check.id, title: check.title, outcome: "passed", ms }
    : { id: check.id, title: check.title, outcome: "failed", error: failure, step: failure.step, ms };
}

/** A promise that rejects with a {@linkcode StepTimeout} after `ms`, unless cancelled first. */
function deadline(ms: number): { expired: Promise<never>; cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StepTimeout(ms)), ms);
  });
  expired.catch(() => {}); // cancelled or raced: never unhandled
  return { expired, cancel: () => clearTimeout(timer) };
}

/** Whether `promise` settles within `ms`; its outcome is ignored. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const timer = deadline(ms);
  try {
    await Promise.race([promise.then(() => true, () => true), timer.expired]);
    return true;
  } catch {
    return false;
  } finally {
    timer.cancel();
  }
}
