/**
 * The conformance kit: checks that a {@linkcode Conn} and a
 * {@linkcode Listener} keep every rule of the contract, as Go's
 * `nettest.TestConn` does for `net.Conn`. Give it a maker of connected pairs
 * (or of listeners with a dialer); each check runs on a fresh one.
 *
 * Under `deno test`, {@linkcode testConn} and {@linkcode testListener} run
 * each check as a test step. On any other runtime (Node, a browser),
 * {@linkcode runConnChecks} and {@linkcode runListenerChecks} run the same
 * checks and return one {@linkcode CheckResult} each: they use nothing but
 * web APIs and `setTimeout`. Checks have stable ids (`basicIO`,
 * `halfClose`...); `skip` and `only` take them. The full list, and what each
 * check proves, is in [docs/testing.md](https://jsr.io/@tether/tether/doc/docs/testing.md).
 *
 * @example Checking your own transport
 * ```ts
 * import { pipe } from "@tether/tether";
 * import { testConn } from "@tether/tether/testing";
 *
 * Deno.test("my pipe keeps the Conn contract", async (t) => {
 *   await testConn(t, () => pipe());
 * });
 * ```
 *
 * @module
 */

import type { Conn } from "../conn.ts";
import type { Listener } from "../listener.ts";
import { fail } from "./_assert.ts";
import {
  type Check,
  type CheckResult,
  type Harness,
  runCheck,
  runChecks,
  type RunOptions,
  select,
  skippedResult,
  stepTimeout,
} from "./_runner.ts";
import { connChecks, type Pair } from "./conn_checks.ts";
import { listenerChecks, type ListenerFixture, type ListenerSubject } from "./listener_checks.ts";

export type { Check, CheckContext, CheckResult, RunOptions } from "./_runner.ts";
export { connChecks, type Pair } from "./conn_checks.ts";
export { listenerChecks, type ListenerFixture, type ListenerSubject } from "./listener_checks.ts";

/**
 * Makes a fresh pair of connected conns for one check.
 *
 * @example
 * ```ts
 * import { pipe } from "@tether/tether";
 * import type { MakePair } from "@tether/tether/testing";
 *
 * const makePair: MakePair = () => pipe({ bufferSize: 1024 });
 * const [a, b] = await makePair();
 * a.close();
 * b.close();
 * ```
 */
export type MakePair = () => Promise<readonly [Conn, Conn]> | readonly [Conn, Conn];

/**
 * Makes a fresh listener, and a dialer that reaches it, for one check. The
 * kit closes the listener afterwards.
 *
 * @example
 * ```ts
 * import { listen } from "@tether/tether";
 * import type { MakeListener } from "@tether/tether/testing";
 *
 * const makeListener: MakeListener = () => {
 *   const listener = listen({ transport: "memory" });
 *   return { listener, dialer: listener.dialer() };
 * };
 * const { listener } = await makeListener();
 * listener.close();
 * ```
 */
export type MakeListener = () => Promise<ListenerFixture> | ListenerFixture;

/**
 * The part of `Deno.TestContext` the kit uses: a `Deno.TestContext` is one.
 *
 * @example
 * ```ts
 * import { pipe } from "@tether/tether";
 * import { type TestContext, testConn } from "@tether/tether/testing";
 *
 * // A helper that takes any test context, Deno's included.
 * async function checkMyTransport(t: TestContext): Promise<void> {
 *   await testConn(t, () => pipe({ bufferSize: 1024 }));
 * }
 * Deno.test("my transport keeps the Conn contract", checkMyTransport);
 * ```
 */
export interface TestContext {
  /** Runs one test step; resolves `false` if it failed. */
  step(definition: {
    name: string;
    fn: () => Promise<void>;
    ignore?: boolean;
    sanitizeOps?: boolean;
    sanitizeResources?: boolean;
  }): Promise<boolean>;
}

/**
 * Options of {@linkcode testConn} and {@linkcode testListener}: those of the
 * runners, and Deno's sanitizers.
 *
 * @example
 * ```ts
 * import { pipe } from "@tether/tether";
 * import { type Pair, testConn, type TestOptions } from "@tether/tether/testing";
 *
 * const options: TestOptions<Pair> = { stepTimeout: 10_000, sanitize: false };
 * Deno.test("pipe keeps the contract within 10 s a check", async (t) => {
 *   await testConn(t, () => pipe(), options);
 * });
 * ```
 */
export interface TestOptions<S = never> extends RunOptions<S> {
  /** Whether Deno's op and resource sanitizers run per check; default true. */
  sanitize?: boolean;
}

function pairHarness(makePair: MakePair): Harness<Pair> {
  return {
    opening: "make the pair",
    async open() {
      const pair = await makePair();
      if (!Array.isArray(pair) || pair.length !== 2) {
        closeAnything(pair);
        fail("makePair()", "a pair of conns, [a, b]", pair);
      }
      return { a: pair[0], b: pair[1] };
    },
    close({ a, b }) {
      closeQuietly(a);
      closeQuietly(b);
    },
    closed: ({ a, b }) => Promise.all([a.closed, b.closed]),
  };
}

/** A {@linkcode ListenerSubject} that remembers every conn it saw, to close them. */
class Tracked implements ListenerSubject {
  readonly conns = new Set<Conn>();
  constructor(readonly listener: Listener, readonly fixture: ListenerFixture) {}
  track = <C extends Conn>(conn: C): C => {
    this.conns.add(conn);
    return conn;
  };
  dial: ListenerSubject["dial"] = (options) => this.fixture.dialer.dial(options).then(this.track);
  accept: ListenerSubject["accept"] = (options) => this.listener.accept(options).then(this.track);
}

function listenerHarness(makeListener: MakeListener): Harness<ListenerSubject> {
  return {
    opening: "make the listener",
    async open() {
      const fixture = await makeListener();
      if (typeof fixture?.listener?.accept !== "function" || typeof fixture?.dialer?.dial !== "function") {
        closeAnything(fixture?.listener);
        fail("makeListener()", "{ listener, dialer }", fixture);
      }
      return new Tracked(fixture.listener, fixture);
    },
    close(subject) {
      closeQuietly(subject.listener);
      for (const conn of (subject as Tracked).conns) closeQuietly(conn);
    },
    closed: (subject) => Promise.all([...(subject as Tracked).conns].map((conn) => conn.closed)),
  };
}

/** Closes whatever of a malformed subject can be closed, so it leaks nothing. */
function closeAnything(value: unknown): void {
  for (const item of Array.isArray(value) ? value : [value]) {
    if (typeof (item as { close?: unknown })?.close === "function") closeQuietly(item as { close(): void });
  }
}

/** Closes a conn or listener; one that throws from `close()` fails elsewhere. */
function closeQuietly(closable: { close(): void }): void {
  try {
    closable.close();
  } catch {
    // the checks that use close() report it
  }
}

/**
 * Runs the conn checks on pairs from `makePair`, one after another, on any
 * runtime; resolves with one result per check, in order, whether it passed
 * or not. Rejects only for bad options (an id in `skip` or `only` that names
 * no check).
 *
 * @example Outside Deno.test: on Node, in a browser, in a script
 * ```ts
 * import { pipe } from "@tether/tether";
 * import { runConnChecks } from "@tether/tether/testing";
 *
 * const results = await runConnChecks(() => pipe(), { stepTimeout: 10_000 });
 * const failed = results.filter((r) => r.outcome === "failed");
 * for (const r of failed) console.error(r.error);
 * console.log(`${results.length - failed.length} of ${results.length} passed`);
 * ```
 */
export function runConnChecks(makePair: MakePair, options: RunOptions<Pair> = {}): Promise<CheckResult[]> {
  try {
    return runChecks(options.checks ?? connChecks, pairHarness(makePair), options);
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * Runs the listener checks on listeners from `makeListener`, one after
 * another, on any runtime; resolves with one result per check.
 *
 * @example
 * ```ts
 * import { listen } from "@tether/tether";
 * import { runListenerChecks } from "@tether/tether/testing";
 *
 * const results = await runListenerChecks(() => {
 *   const listener = listen({ transport: "memory" });
 *   return { listener, dialer: listener.dialer() };
 * });
 * console.log(results.every((r) => r.outcome === "passed")); // true
 * ```
 */
export function runListenerChecks(
  makeListener: MakeListener,
  options: RunOptions<ListenerSubject> = {},
): Promise<CheckResult[]> {
  try {
    return runChecks(options.checks ?? listenerChecks, listenerHarness(makeListener), options);
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * Runs every conn check as a test step of `t` (named `id: title`), each on
 * a fresh pair from `makePair`. A failing check fails its own step only,
 * naming the step it was in; a check that exceeds `stepTimeout` fails the
 * same way. Skipped checks show as ignored steps.
 *
 * @example
 * ```ts
 * import { listen } from "@tether/tether";
 * import { testConn } from "@tether/tether/testing";
 *
 * Deno.test("private listener conns keep the Conn contract", async (t) => {
 *   using listener = listen({ transport: "memory" });
 *   await testConn(t, async () => {
 *     const dialing = listener.dialer().dial();
 *     const server = await listener.accept();
 *     return [await dialing, server];
 *   });
 * });
 * ```
 */
export function testConn(t: TestContext, makePair: MakePair, options: TestOptions<Pair> = {}): Promise<void> {
  return testSteps(t, options.checks ?? connChecks, pairHarness(makePair), options);
}

/**
 * Runs every listener check as a test step of `t`, each on a fresh listener
 * from `makeListener`, dialed through its dialer.
 *
 * @example
 * ```ts
 * import { connect, listen } from "@tether/tether";
 * import { testListener } from "@tether/tether/testing";
 *
 * let n = 0;
 * Deno.test("named memory listeners keep the Listener contract", async (t) => {
 *   await testListener(t, () => {
 *     const name = `doc-kit-${++n}`;
 *     const listener = listen({ transport: "memory", name });
 *     return { listener, dialer: { dial: (o) => connect({ transport: "memory", name, ...o }) } };
 *   });
 * });
 * ```
 */
export function testListener(
  t: TestContext,
  makeListener: MakeListener,
  options: TestOptions<ListenerSubject> = {},
): Promise<void> {
  return testSteps(t, options.checks ?? listenerChecks, listenerHarness(makeListener), options);
}

async function testSteps<S>(
  t: TestContext,
  checks: readonly Check<S>[],
  harness: Harness<S>,
  options: TestOptions<S>,
): Promise<void> {
  const timeout = stepTimeout(options);
  const sanitize = options.sanitize ?? true;
  for (const { check, skipped } of select(checks, options)) {
    await t.step({
      name: `${check.id}: ${check.title}`,
      ignore: skipped,
      sanitizeOps: sanitize,
      sanitizeResources: sanitize,
      fn: async () => {
        const result = await runCheck(check, harness, timeout);
        options.onResult?.(result);
        if (result.outcome === "failed") throw result.error;
      },
    });
    if (skipped) options.onResult?.(skippedResult(check));
  }
}
