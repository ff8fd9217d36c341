/**
 * X25519 key pairs for Noise handshakes: make one, and move keys in and out as
 * raw 32-byte strings (the form Noise puts on the wire and test vectors use).
 *
 * A public key is plain bytes, so it can be compared, stored and printed. A
 * private key stays a WebCrypto `CryptoKey`; it can be exported only if it was
 * made extractable.
 *
 * @example Making a static key and storing it
 * ```ts
 * import { exportPrivateKey, generateKeyPair, importKeyPair } from "@tether/tether/crypto";
 *
 * const keys = await generateKeyPair();
 * const saved = await exportPrivateKey(keys); // 32 bytes, keep them secret
 * const again = await importKeyPair(saved);
 * console.log(again.publicKey.length); // 32
 * ```
 *
 * @module
 */

import { describe } from "../_validate.ts";
import { source } from "./bytes.ts";
import { fromBase64Url, hostCrypto, type HostKey } from "./_host.ts";

/** The length of an X25519 key, public or private, in bytes. */
export const KEY_LENGTH = 32;

/**
 * An X25519 key pair.
 *
 * @example
 * ```ts
 * import { generateKeyPair, type KeyPair } from "@tether/tether/crypto";
 *
 * const keys: KeyPair = await generateKeyPair();
 * console.log(keys.publicKey.length, keys.privateKey.algorithm.name); // 32 X25519
 * ```
 */
export interface KeyPair {
  /** The raw 32-byte public key. */
  readonly publicKey: Uint8Array;
  /** The private key, usable for X25519 `deriveBits`. */
  readonly privateKey: CryptoKey;
}

/**
 * Options of {@linkcode generateKeyPair} and {@linkcode importKeyPair}.
 *
 * @example A key that can never leave WebCrypto
 * ```ts
 * import { generateKeyPair } from "@tether/tether/crypto";
 *
 * const keys = await generateKeyPair({ extractable: false });
 * console.log(keys.privateKey.extractable); // false
 * ```
 */
export interface KeyPairOptions {
  /** Whether {@linkcode exportPrivateKey} may export the private key; default true. */
  extractable?: boolean;
}

const X25519 = { name: "X25519" } as const;

/**
 * The fixed DER prefix of a PKCS #8 X25519 private key (RFC 8410): WebCrypto
 * imports raw private keys only in this wrapper.
 */
const PKCS8_PREFIX = Uint8Array.of(
  0x30,
  0x2e,
  0x02,
  0x01,
  0x00,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x6e,
  0x04,
  0x22,
  0x04,
  0x20,
);

/**
 * Makes a fresh random X25519 key pair.
 *
 * @example
 * ```ts
 * import { generateKeyPair } from "@tether/tether/crypto";
 *
 * const { publicKey } = await generateKeyPair();
 * console.log(publicKey.length); // 32
 * ```
 */
export async function generateKeyPair(options: KeyPairOptions = {}): Promise<KeyPair> {
  const extractable = checkExtractable(options);
  const pair = await crypto.subtle.generateKey(X25519, extractable, ["deriveBits"]) as CryptoKeyPair;
  const publicKey = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  return { publicKey, privateKey: pair.privateKey };
}

/**
 * A key pair a Diffie-Hellman can use: a {@linkcode KeyPair}, or an
 * ephemeral one made by the runtime's synchronous crypto (`hostKey`).
 * Internal to `crypto/`.
 */
export interface DhKeyPair {
  /** The raw 32-byte public key. */
  readonly publicKey: Uint8Array;
  /** The WebCrypto private key, unless `hostKey` stands in for it. */
  readonly privateKey?: CryptoKey;
  /** The private key as a `node:crypto` KeyObject. */
  readonly hostKey?: HostKey;
}

/**
 * A fresh key pair for one handshake's `e`: made synchronously where the
 * runtime can (tens of microseconds, against hundreds through WebCrypto),
 * else by WebCrypto, non-extractable. Internal to `crypto/`.
 */
export function generateEphemeral(): Promise<DhKeyPair> {
  const host = hostCrypto();
  if (host === null) return generateKeyPair({ extractable: false });
  const pair = spare ?? hostKeyPair();
  spare = null;
  return Promise.resolve(pair);
}

/** A key pair made ahead by {@linkcode prepareEphemeral}, for the next handshake. */
let spare: DhKeyPair | null = null;

/**
 * Makes the next handshake's ephemeral key pair now, if none is ready: a
 * handshake calls it once it has sent a message and waits for the peer, so
 * the work is off the critical path of the next one. The pair is as fresh as
 * one made then, and used once. Internal to `crypto/`.
 */
export function prepareEphemeral(): void {
  if (spare === null && hostCrypto() !== null) spare = hostKeyPair();
}

function hostKeyPair(): DhKeyPair {
  const { publicKey, privateKey } = hostCrypto()!.generateKeyPairSync("x25519");
  return { publicKey: fromBase64Url(publicKey.export({ format: "jwk" }).x!), hostKey: privateKey };
}

/**
 * Imports a raw 32-byte X25519 private key and derives its public key.
 *
 * @example
 * ```ts
 * import { importKeyPair } from "@tether/tether/crypto";
 *
 * const keys = await importKeyPair(new Uint8Array(32).fill(7));
 * console.log(keys.publicKey.length); // 32
 * ```
 */
export async function importKeyPair(privateKey: Uint8Array, options: KeyPairOptions = {}): Promise<KeyPair> {
  checkKey(privateKey, "privateKey");
  const extractable = checkExtractable(options);
  const pkcs8 = new Uint8Array(PKCS8_PREFIX.length + KEY_LENGTH);
  pkcs8.set(PKCS8_PREFIX);
  pkcs8.set(privateKey, PKCS8_PREFIX.length);
  // Import once extractable to read the public half out of the JWK, then
  // again with the caller's choice: WebCrypto derives no public key otherwise.
  const full = await crypto.subtle.importKey("pkcs8", source(pkcs8), X25519, true, ["deriveBits"]);
  const jwk = await crypto.subtle.exportKey("jwk", full);
  pkcs8.fill(0);
  const publicKey = fromBase64Url(jwk.x!);
  const key = extractable ? full : await crypto.subtle.importKey("jwk", jwk, X25519, false, ["deriveBits"]);
  return { publicKey, privateKey: key };
}

/**
 * Exports the private key of a pair as raw 32 bytes; the pair must have been
 * made extractable (the default).
 *
 * @example
 * ```ts
 * import { exportPrivateKey, generateKeyPair } from "@tether/tether/crypto";
 *
 * const raw = await exportPrivateKey(await generateKeyPair());
 * console.log(raw.length); // 32
 * ```
 */
export async function exportPrivateKey(keyPair: KeyPair): Promise<Uint8Array> {
  checkKeyPair(keyPair, "keyPair");
  if (!keyPair.privateKey.extractable) {
    throw new TypeError("the private key is not extractable: make it with { extractable: true }");
  }
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keyPair.privateKey));
  return pkcs8.slice(pkcs8.length - KEY_LENGTH);
}

/**
 * Checks a raw 32-byte X25519 public key and returns a copy of it, for keys
 * read from configuration or another peer.
 *
 * @example
 * ```ts
 * import { importPublicKey } from "@tether/tether/crypto";
 *
 * console.log(importPublicKey(new Uint8Array(32)).length); // 32
 * ```
 */
export function importPublicKey(publicKey: Uint8Array): Uint8Array {
  checkKey(publicKey, "publicKey");
  return publicKey.slice();
}

/**
 * Returns a copy of the raw 32-byte public key of a pair.
 *
 * @example
 * ```ts
 * import { exportPublicKey, generateKeyPair } from "@tether/tether/crypto";
 *
 * const keys = await generateKeyPair();
 * console.log(exportPublicKey(keys).length); // 32
 * ```
 */
export function exportPublicKey(keyPair: KeyPair): Uint8Array {
  checkKeyPair(keyPair, "keyPair");
  return keyPair.publicKey.slice();
}

/** Checks that `key` is 32 bytes. */
export function checkKey(key: unknown, what: string): asserts key is Uint8Array {
  if (!(key instanceof Uint8Array)) {
    throw new TypeError(`${what} must be a Uint8Array of ${KEY_LENGTH} bytes, got ${describe(key)}`);
  }
  if (key.length !== KEY_LENGTH) {
    throw new RangeError(`${what} must be ${KEY_LENGTH} bytes, got ${key.length}`);
  }
}

/** Checks that `pair` looks like a {@linkcode KeyPair} for X25519. */
export function checkKeyPair(pair: unknown, what: string): asserts pair is KeyPair {
  if (pair === null || typeof pair !== "object") {
    throw new TypeError(`${what} must be a key pair from generateKeyPair(), got ${describe(pair)}`);
  }
  const { publicKey, privateKey } = pair as Partial<KeyPair>;
  checkKey(publicKey, `${what}.publicKey`);
  if (!(privateKey instanceof CryptoKey) || privateKey.algorithm.name !== "X25519") {
    throw new TypeError(`${what}.privateKey must be an X25519 CryptoKey, got ${describe(privateKey)}`);
  }
}

function checkExtractable(options: KeyPairOptions): boolean {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`options must be an object, got ${describe(options)}`);
  }
  const { extractable = true } = options;
  if (typeof extractable !== "boolean") {
    throw new TypeError(`extractable must be a boolean, got ${describe(extractable)}`);
  }
  return extractable;
}
