/**
 * Test-only hooks into `secure()`. This module is not exported from the
 * package: tests import it by relative path, so nothing reaches the hooks by
 * accident. The key is a unique symbol, so no options object built from
 * configuration can carry it either.
 *
 * @module
 */

import type { KeyPair } from "./keys.ts";

/** The options key under which `secure()` looks for {@linkcode TestHooks}. */
export const TEST_HOOKS: unique symbol = Symbol("tether.crypto.testHooks");

/** What a test may fix in a handshake. */
export interface TestHooks {
  /** This side's ephemeral key pair instead of a fresh one, as test vectors need. */
  ephemeral?: KeyPair;
  /** The nonce both transport cipher states start at, to reach the end of the nonce space. */
  nonce?: bigint;
}
