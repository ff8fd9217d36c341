/**
 * Test-only hooks into `secure()`. This module is not exported from the
 * package, and `secure()` never reads hooks from its options object (a
 * `Proxy` there sees every property read): they live in a registry private
 * to this module, keyed by the options object's identity, and only
 * {@linkcode setTestHooks} fills it. Tests import it by relative path.
 *
 * @module
 */

import type { KeyPair } from "./keys.ts";

/** What a test may fix in a handshake. */
export interface TestHooks {
  /** This side's ephemeral key pair instead of a fresh one, as test vectors need. */
  ephemeral?: KeyPair;
  /** The nonce both transport cipher states start at, to reach the end of the nonce space. */
  nonce?: bigint;
}

const registry = new WeakMap<object, TestHooks>();
const NONE: TestHooks = Object.freeze({});

/**
 * Test only: makes `secure(conn, options)` use `hooks`, for this very
 * `options` object (a copy of it gets none). Returns `options`.
 */
export function setTestHooks<T extends object>(options: T, hooks: TestHooks): T {
  registry.set(options, { ...hooks });
  return options;
}

/** The hooks a test set for `options`; none for any other object. */
export function testHooksFor(options: object): TestHooks {
  return registry.get(options) ?? NONE;
}
