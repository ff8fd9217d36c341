/**
 * The conformance kit: checks that a {@linkcode Conn} keeps every rule of the
 * contract, as Go's `nettest.TestConn` does for `net.Conn`. Give it a maker of
 * connected pairs; it runs one Deno test step per rule.
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
import { checks } from "./checks.ts";

export { type Check, checks, type Pair } from "./checks.ts";

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
export type MakePair = () => Promise<[Conn, Conn]> | [Conn, Conn];

/**
 * Options of {@linkcode testConn}.
 *
 * @example
 * ```ts
 * import { pipe } from "@tether/tether";
 * import { testConn, type TestConnOptions } from "@tether/tether/testing";
 *
 * const options: TestConnOptions = { stepTimeout: 10_000 };
 * Deno.test("pipe keeps the contract within 10 s a check", async (t) => {
 *   await testConn(t, () => pipe(), options);
 * });
 * ```
 */
export interface TestConnOptions {
  /** Milliseconds one check may take before it fails instead of hanging; default 30000. */
  stepTimeout?: number;
  /** Names of checks to leave out, with the reason in a comment at the call. */
  skip?: readonly string[];
  /** Whether Deno's op and resource sanitizers run per check; default true. */
  sanitize?: boolean;
}

/**
 * Runs every conformance check as a test step of `t`, each on a fresh pair
 * from `makePair`. A check that exceeds `stepTimeout` fails.
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
export async function testConn(
  t: Deno.TestContext,
  makePair: MakePair,
  options: TestConnOptions = {},
): Promise<void> {
  const { stepTimeout = 30_000, skip = [], sanitize = true } = options;
  for (const check of checks) {
    if (skip.includes(check.name)) continue;
    await t.step({
      name: check.name,
      sanitizeOps: sanitize,
      sanitizeResources: sanitize,
      fn: async () => {
        const [a, b] = await makePair();
        try {
          await withTimeout(check.run({ a, b }), stepTimeout, check.name);
        } finally {
          a.close();
          b.close();
          await withTimeout(Promise.all([a.closed, b.closed]), stepTimeout, `${check.name}: closed`);
        }
      },
    });
  }
}

/** Rejects if `promise` has not settled within `ms`, clearing its timer either way. */
async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still running after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
