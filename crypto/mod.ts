/**
 * Secure channels: `secure(conn)` turns any `Conn` into an
 * authenticated, encrypted one with a Noise Protocol Framework handshake
 * (revision 34): X25519, AES-256-GCM or ChaCha20-Poly1305, SHA-256 or
 * SHA-512. It needs nothing but WebCrypto; where the runtime also has
 * `node:crypto` (Deno, Node, Bun), ephemeral keys and some records use it,
 * synchronously, which is several times faster for a handshake or a small
 * message; SHA-256 and small ChaCha20-Poly1305 records are plain TypeScript
 * everywhere. Failures are typed
 * errors, exported here as from the main module: `HandshakeError`,
 * `ProtocolError`, `NonceExhaustedError`, `UnsupportedAlgorithmError`,
 * `ConnClosedError`.
 *
 * @example A PSK shared by both ends (NNpsk0)
 * ```ts
 * import { pipe } from "@tether/tether";
 * import { secure } from "@tether/tether/crypto";
 *
 * const psk = crypto.getRandomValues(new Uint8Array(32)); // both ends know it
 * const [a, b] = pipe();
 * const [client, server] = await Promise.all([
 *   secure(a, { role: "initiator", pattern: "NNpsk0", psk }),
 *   secure(b, { role: "responder", pattern: "NNpsk0", psk }),
 * ]);
 * console.log(client.protocol); // "Noise_NNpsk0_25519_AESGCM_SHA256"
 * client.close();
 * server.close();
 * ```
 *
 * @module
 */

export { secure, type SecureOptions } from "./secure.ts";
export {
  type SecureDialer,
  secureDialer,
  type SecureEndOptions,
  secureListener,
  type SecureListenerOptions,
} from "./secure_listener.ts";
// The errors a secure conn raises, so `@tether/tether/crypto` alone is enough to handle them.
export {
  ConnClosedError,
  ConnError,
  HandshakeError,
  NonceExhaustedError,
  ProtocolError,
  UnsupportedAlgorithmError,
} from "../errors.ts";
export type { SecureConn } from "./records.ts";
export {
  exportPrivateKey,
  exportPublicKey,
  generateKeyPair,
  importKeyPair,
  importPublicKey,
  type KeyPair,
  type KeyPairOptions,
} from "./keys.ts";
export { type CipherName, hasChaChaPoly } from "./cipher.ts";
export type { HashName } from "./hash.ts";
export type { BasePatternName, PatternName } from "./patterns.ts";
