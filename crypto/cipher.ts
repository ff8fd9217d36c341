/**
 * Noise's cipher functions (AESGCM, ChaChaPoly) on WebCrypto, and the
 * CipherState that pairs a key with its message counter (Noise rev 34, §5.1).
 *
 * @module
 */

import { NonceExhaustedError } from "../errors.ts";
import { source } from "./bytes.ts";
import { type HostCrypto, hostCrypto, own } from "./_host.ts";
import { type ChaChaKey, chachaKey, chachaOpen, chachaSeal } from "./_chacha20_poly1305.ts";

/**
 * The cipher names of a Noise protocol name: AES-256-GCM or ChaCha20-Poly1305.
 *
 * @example
 * ```ts
 * import type { CipherName } from "@tether/tether/crypto";
 *
 * const cipher: CipherName = "ChaChaPoly";
 * console.log(cipher);
 * ```
 */
export type CipherName = "AESGCM" | "ChaChaPoly";

/** The length of an AEAD tag, added to every encrypted message. */
export const TAG_LENGTH = 16;

/**
 * 2^64 - 1: the nonce Noise reserves. Reaching it means the key is used up;
 * a counter is never allowed to wrap.
 */
export const MAX_NONCE = (1n << 64n) - 1n;

/** An AEAD whose authentication failed: tampered, forged, replayed or reordered. */
export class DecryptError extends Error {
  /** Makes the error, keeping WebCrypto's as the cause. */
  constructor(cause: unknown) {
    super("message failed authentication", { cause });
    this.name = "DecryptError";
  }
}

/**
 * A key of an AEAD. The synchronous paths (plain TypeScript ChaCha20, and
 * `node:crypto`, see `_host.ts`) take the raw bytes, kept here; WebCrypto's
 * key is imported only when a record too big for them first needs it, as a
 * handshake's keys never do.
 */
export interface CipherKey {
  /** The 32 raw key bytes. */
  readonly raw: Uint8Array;
  /** The key as ChaCha20's words, for ChaChaPoly; `null` for AESGCM. */
  readonly chacha: ChaChaKey | null;
  /** The WebCrypto key (non-extractable) once imported, else `null`. */
  readonly web: CryptoKey | null;
  /** The WebCrypto key, imported on first use. */
  webKey(): Promise<CryptoKey>;
}

/** One AEAD as Noise uses it: a 32-byte key and a 64-bit counter nonce. */
export interface CipherFunctions {
  /** Its name in a Noise protocol name. */
  readonly name: CipherName;
  /** Turns 32 raw key bytes into a key for this AEAD. */
  importKey(raw: Uint8Array): CipherKey;
  /**
   * ENCRYPT(k, n, ad, plaintext) at once, where this cipher can for a
   * message of this size: `headroom` free bytes, then the sealed message;
   * `null` where only {@linkcode CipherFunctions.encrypt} can. With `into`
   * (big enough), the result may be written there, a view of its start,
   * instead of into a new array.
   */
  encryptNow(
    key: CipherKey,
    hi: number,
    lo: number,
    ad: Uint8Array,
    plaintext: Uint8Array,
    headroom: number,
    into?: Uint8Array,
  ): Uint8Array | null;
  /**
   * DECRYPT(k, n, ad, ciphertext) at once, where this cipher can: the
   * plaintext, or `null` where only {@linkcode CipherFunctions.decrypt} can.
   * Throws {@linkcode DecryptError}. With `into` (big enough; it may be
   * `ciphertext` itself, to decrypt in place), the plaintext may be written
   * there, a view of its start, instead of into a new array; nothing is
   * written there unless the tag matches.
   */
  decryptNow(
    key: CipherKey,
    hi: number,
    lo: number,
    ad: Uint8Array,
    ciphertext: Uint8Array,
    into?: Uint8Array,
  ): Uint8Array | null;
  /** ENCRYPT(k, n, ad, plaintext), at once where it can, else through WebCrypto. */
  encrypt(key: CipherKey, hi: number, lo: number, ad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array>;
  /** DECRYPT(k, n, ad, ciphertext); rejects with {@linkcode DecryptError}. */
  decrypt(
    key: CipherKey,
    hi: number,
    lo: number,
    ad: Uint8Array,
    ciphertext: Uint8Array,
  ): Promise<Uint8Array>;
}

/**
 * Messages up to this size are sealed and opened synchronously in every
 * runtime: ChaChaPoly in plain TypeScript (a few microseconds for a small
 * message), AESGCM through `node:crypto` where the runtime has it. Bigger
 * AESGCM records go to WebCrypto: its calls cost tens of microseconds of
 * scheduling, but run off the JavaScript thread, and Deno's `node:crypto`
 * AES-GCM is slow (`secure(pipe())` moved 0.26–0.52× as much with it at 1–64
 * KiB, `bench/ab.ts`, 2026-12-02). Bigger ChaChaPoly records: see
 * `chachaPaths`.
 */
export const SYNC_CIPHER_LIMIT = 512;

/**
 * A 12-byte nonce: 4 zero bytes, then the 64-bit counter (`hi` and `lo`, its
 * two 32-bit halves) in the AEAD's byte order.
 */
function nonce(hi: number, lo: number, littleEndian: boolean): Uint8Array<ArrayBuffer> {
  const iv = new Uint8Array(12);
  const view = new DataView(iv.buffer);
  view.setUint32(littleEndian ? 4 : 8, lo, littleEndian);
  view.setUint32(littleEndian ? 8 : 4, hi, littleEndian);
  return iv;
}

/** A view of `bytes` after `headroom` bytes of a new array (as the sync paths return). */
function withHeadroom(headroom: number, ...parts: Uint8Array[]): Uint8Array {
  let length = headroom;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let at = headroom;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

interface Paths {
  /** The synchronous seal of a message of this size, or `null` where there is none. */
  sealNow: CipherFunctions["encryptNow"];
  /** The synchronous open; throws on a bad tag. */
  openNow: CipherFunctions["decryptNow"];
}

function cipherFunctionsOf(
  name: CipherName,
  algorithm: string,
  format: "raw" | "raw-secret",
  littleEndian: boolean,
  paths: Paths,
): CipherFunctions {
  const importWeb = (bytes: Uint8Array) =>
    crypto.subtle.importKey(format as "raw", source(bytes), { name: algorithm }, false, [
      "encrypt",
      "decrypt",
    ]);
  const functions: CipherFunctions = {
    name,
    importKey(bytes) {
      const raw = bytes.slice();
      let importing: Promise<CryptoKey> | undefined;
      const key: { -readonly [K in keyof CipherKey]: CipherKey[K] } = {
        raw,
        chacha: name === "ChaChaPoly" ? chachaKey(raw) : null,
        web: null,
        webKey: () => importing ??= importWeb(raw).then((web) => key.web = web),
      };
      return key;
    },
    encryptNow: paths.sealNow,
    decryptNow(key, hi, lo, ad, ciphertext, into) {
      try {
        return paths.openNow(key, hi, lo, ad, ciphertext, into);
      } catch (err) {
        throw err instanceof DecryptError ? err : new DecryptError(err);
      }
    },
    encrypt(key, hi, lo, ad, plaintext) {
      const sealed = paths.sealNow(key, hi, lo, ad, plaintext, 0);
      if (sealed !== null) return Promise.resolve(sealed);
      const iv = nonce(hi, lo, littleEndian);
      const seal = (web: CryptoKey, bytes: Uint8Array, data: Uint8Array) =>
        crypto.subtle.encrypt({ name: algorithm, iv, additionalData: source(data) }, web, source(bytes))
          .then((sealed) => new Uint8Array(sealed));
      if (key.web !== null) return seal(key.web, plaintext, ad);
      // Callers may refill their buffers once this returns: copy them while the key is imported.
      const [bytes, data] = [plaintext.slice(), ad.slice()];
      return key.webKey().then((web) => seal(web, bytes, data));
    },
    decrypt(key, hi, lo, ad, ciphertext) {
      let opened: Uint8Array | null;
      try {
        opened = functions.decryptNow(key, hi, lo, ad, ciphertext);
      } catch (err) {
        return Promise.reject(err);
      }
      if (opened !== null) return Promise.resolve(opened);
      const iv = nonce(hi, lo, littleEndian);
      const open = (web: CryptoKey, bytes: Uint8Array, data: Uint8Array) =>
        crypto.subtle.decrypt({ name: algorithm, iv, additionalData: source(data) }, web, source(bytes))
          .then((opened) => new Uint8Array(opened), (err) => Promise.reject(new DecryptError(err)));
      if (key.web !== null) return open(key.web, ciphertext, ad);
      const [bytes, data] = [ciphertext.slice(), ad.slice()];
      return key.webKey().then((web) => open(web, bytes, data));
    },
  };
  return functions;
}

const HOST_OPTIONS = { authTagLength: TAG_LENGTH };

/** Seals through `node:crypto`'s `algorithm`. */
function hostSeal(
  host: HostCrypto,
  algorithm: string,
  key: CipherKey,
  iv: Uint8Array,
  ad: Uint8Array,
  plaintext: Uint8Array,
  headroom: number,
): Uint8Array {
  const cipher = host.createCipheriv(algorithm, key.raw, iv, HOST_OPTIONS);
  if (ad.length > 0) cipher.setAAD(ad);
  const head = cipher.update(plaintext);
  const tail = cipher.final();
  return withHeadroom(headroom, head, tail, cipher.getAuthTag());
}

/** Opens through `node:crypto`'s `algorithm`; throws {@linkcode DecryptError}. */
function hostOpen(
  host: HostCrypto,
  algorithm: string,
  key: CipherKey,
  iv: Uint8Array,
  ad: Uint8Array,
  ciphertext: Uint8Array,
): Uint8Array {
  if (ciphertext.length < TAG_LENGTH) throw new DecryptError(new Error("shorter than a tag"));
  const decipher = host.createDecipheriv(algorithm, key.raw, iv, HOST_OPTIONS);
  if (ad.length > 0) decipher.setAAD(ad);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - TAG_LENGTH));
  const head = decipher.update(ciphertext.subarray(0, ciphertext.length - TAG_LENGTH));
  const tail = decipher.final(); // throws on a bad tag
  return tail.length === 0 ? own(head) : withHeadroom(0, head, tail);
}

/** AESGCM's synchronous paths: `node:crypto` for small messages, where there is one. */
const aesPaths: Paths = {
  sealNow(key, hi, lo, ad, plaintext, headroom) {
    const host = plaintext.length > SYNC_CIPHER_LIMIT ? null : hostCrypto();
    return host === null
      ? null
      : hostSeal(host, "aes-256-gcm", key, nonce(hi, lo, false), ad, plaintext, headroom);
  },
  openNow(key, hi, lo, ad, ciphertext) {
    const host = ciphertext.length > SYNC_CIPHER_LIMIT + TAG_LENGTH ? null : hostCrypto();
    return host === null ? null : hostOpen(host, "aes-256-gcm", key, nonce(hi, lo, false), ad, ciphertext);
  },
};

/**
 * ChaChaPoly's synchronous paths: plain TypeScript for small messages;
 * bigger ones through `node:crypto` where the runtime's has the cipher
 * (Deno, Node), else WebCrypto where it has ChaCha20-Poly1305 (Chromium;
 * the sync path answers `null` then), else plain TypeScript. In Deno 2.9.6 a
 * WebCrypto call took 75–245 µs awaited (512 B to 64 KiB) against 10–90 µs
 * for `node:crypto`'s, and `secure(pipe())` moved 1.3× as much with
 * `node:crypto` at 1 KiB and at 64 KiB, for about half the CPU (WebCrypto's
 * work off the JavaScript thread no longer pays for its scheduling).
 */
const chachaPaths: Paths = {
  sealNow(key, hi, lo, ad, plaintext, headroom, into) {
    if (plaintext.length > SYNC_CIPHER_LIMIT) {
      const host = hostChaCha();
      if (host !== null) {
        return hostSeal(host, "chacha20-poly1305", key, nonce(hi, lo, true), ad, plaintext, headroom);
      }
      if (webChaCha === true) return null;
    }
    // A small typed array lives outside the JS heap and costs more to make than to seal.
    const length = headroom + plaintext.length + TAG_LENGTH;
    const out = into !== undefined && into.length >= length
      ? into.subarray(0, length)
      : new Uint8Array(length);
    chachaSeal(key.chacha!, 0, lo, hi, ad, plaintext, out, headroom);
    return out;
  },
  openNow(key, hi, lo, ad, ciphertext, into) {
    if (ciphertext.length > SYNC_CIPHER_LIMIT + TAG_LENGTH) {
      const host = hostChaCha();
      if (host !== null) return hostOpen(host, "chacha20-poly1305", key, nonce(hi, lo, true), ad, ciphertext);
      if (webChaCha === true) return null;
    }
    if (ciphertext.length < TAG_LENGTH) throw new DecryptError(new Error("shorter than a tag"));
    const length = ciphertext.length - TAG_LENGTH;
    // Into the same bytes is fine: the tag is checked first, and each byte is read before it is written.
    const out = into !== undefined && into.length >= length
      ? into.subarray(0, length)
      : new Uint8Array(length);
    if (!chachaOpen(key.chacha!, 0, lo, hi, ad, ciphertext, 0, ciphertext.length, out, 0)) {
      throw new DecryptError(new Error("the tag does not match"));
    }
    return out;
  },
};

/** The host `hostChaCha` last asked, and whether its `node:crypto` has ChaCha20-Poly1305. */
let chachaHost: { host: HostCrypto; has: boolean } | null = null;

/**
 * The runtime's `node:crypto` if it has ChaCha20-Poly1305, else `null`: not
 * every one that has `node:crypto` has the cipher (Bun's does not), so it
 * is asked once, with a throwaway cipher.
 */
function hostChaCha(): HostCrypto | null {
  const host = hostCrypto();
  if (host === null) return null;
  if (chachaHost?.host !== host) {
    let has = true;
    try {
      host.createCipheriv("chacha20-poly1305", new Uint8Array(32), new Uint8Array(12), HOST_OPTIONS);
    } catch {
      has = false;
    }
    chachaHost = { host, has };
  }
  return chachaHost.has ? host : null;
}

/** AES-256-GCM; the nonce counter is big-endian. */
export const AESGCM: CipherFunctions = cipherFunctionsOf("AESGCM", "AES-GCM", "raw", false, aesPaths);

const CHACHA_ALGORITHM = "ChaCha20-Poly1305";

/** ChaCha20-Poly1305, with WebCrypto's `"raw-secret"` key format; the nonce counter is little-endian. */
export const CHACHAPOLY: CipherFunctions = cipherFunctionsOf(
  "ChaChaPoly",
  CHACHA_ALGORITHM,
  "raw-secret",
  true,
  chachaPaths,
);

/** Whether WebCrypto has ChaCha20-Poly1305; `undefined` until asked. */
let webChaCha: boolean | undefined;
let webChaChaCheck: Promise<boolean> | undefined;

/** Whether this runtime's WebCrypto has ChaCha20-Poly1305 (Deno 2.9 does; Node 20 does not). */
function hasWebChaCha(): Promise<boolean> {
  return webChaChaCheck ??= crypto.subtle.importKey(
    "raw-secret" as "raw",
    new Uint8Array(32),
    { name: CHACHA_ALGORITHM },
    false,
    ["encrypt", "decrypt"],
  ).then(() => true, () => false).then((has) => webChaCha = has);
}

/**
 * Whether `cipher: "ChaChaPoly"` can be used here. It always can now: where
 * the runtime lacks ChaCha20-Poly1305 (Node 20's WebCrypto, Firefox and
 * Safari), tether's own TypeScript implementation runs it. Kept so that code written when it
 * depended on the runtime (`await hasChaChaPoly() ? "ChaChaPoly" :
 * "AESGCM"`) still works.
 *
 * @example
 * ```ts
 * import { hasChaChaPoly } from "@tether/tether/crypto";
 *
 * const cipher = (await hasChaChaPoly()) ? "ChaChaPoly" : "AESGCM";
 * console.log(cipher); // "ChaChaPoly"
 * ```
 */
export async function hasChaChaPoly(): Promise<boolean> {
  await hasWebChaCha();
  return true;
}

/**
 * ChaCha20-Poly1305's cipher functions, once it is known whether WebCrypto
 * has it (for big records where `node:crypto` is missing).
 */
export async function chachaPoly(): Promise<CipherFunctions> {
  await hasWebChaCha();
  return CHACHAPOLY;
}

/** The cipher functions for `name`. */
export function cipherFunctions(name: CipherName): Promise<CipherFunctions> {
  return name === "ChaChaPoly" ? chachaPoly() : Promise.resolve(AESGCM);
}

/**
 * A key and its nonce counter. Each call takes its nonce at once, before it
 * awaits anything, so several calls may be in flight and still use the
 * nonces in call order.
 */
export class CipherState {
  readonly #cipher: CipherFunctions;
  #key: CipherKey | null = null;
  /** The next nonce's high and low 32 bits (numbers, not a bigint: no allocation per message). */
  #hi = 0;
  #lo = 0;

  /** Makes an empty cipher state for `cipher`. */
  constructor(cipher: CipherFunctions) {
    this.#cipher = cipher;
  }

  /** The cipher functions in use. */
  get cipher(): CipherFunctions {
    return this.#cipher;
  }

  /** InitializeKey(key): sets the key and resets the nonce. */
  initializeKey(raw: Uint8Array): Promise<void> {
    this.setKey(raw);
    return Promise.resolve();
  }

  /** {@linkcode CipherState.initializeKey}, at once. */
  setKey(raw: Uint8Array): void {
    this.#key = this.#cipher.importKey(raw);
    this.#hi = this.#lo = 0;
  }

  /** HasKey(). */
  hasKey(): boolean {
    return this.#key !== null;
  }

  /** The next nonce. */
  get nonce(): bigint {
    return (BigInt(this.#hi) << 32n) | BigInt(this.#lo);
  }

  /** SetNonce(nonce); tests use it to reach the end of the nonce space. */
  setNonce(n: bigint): void {
    if (n < 0n || n > MAX_NONCE) throw new RangeError(`nonce must be in [0, 2^64-1], got ${n}`);
    this.#hi = Number(n >> 32n);
    this.#lo = Number(n & 0xffff_ffffn);
  }

  /**
   * EncryptWithAd(ad, plaintext) at once, where the cipher can for this
   * size: `headroom` free bytes (for a caller's header), then the sealed
   * message. `null`, with no nonce used, where only
   * {@linkcode CipherState.encryptWithAd} can. Throws
   * `NonceExhaustedError` once the nonces are used up. With `into` (big
   * enough), the result may be a view of its start instead of a new array.
   */
  encryptNow(
    ad: Uint8Array,
    plaintext: Uint8Array,
    headroom = 0,
    direction = "send",
    into?: Uint8Array,
  ): Uint8Array | null {
    const key = this.#key;
    if (key === null) return withHeadroom(headroom, plaintext);
    if (this.#exhausted()) throw new NonceExhaustedError({ op: direction });
    const sealed = this.#cipher.encryptNow(key, this.#hi, this.#lo, ad, plaintext, headroom, into);
    if (sealed !== null) this.#advance();
    return sealed;
  }

  /**
   * DecryptWithAd(ad, ciphertext) at once, where the cipher can: the
   * plaintext, or `null`, with no nonce used, where only
   * {@linkcode CipherState.decryptWithAd} can. Throws `DecryptError` (the
   * nonce is used) or `NonceExhaustedError`. With `into` (big enough; it
   * may be `ciphertext` itself), the result may be a view of its start
   * instead of a new array.
   */
  decryptNow(
    ad: Uint8Array,
    ciphertext: Uint8Array,
    direction = "receive",
    into?: Uint8Array,
  ): Uint8Array | null {
    const key = this.#key;
    if (key === null) return ciphertext.slice();
    if (this.#exhausted()) throw new NonceExhaustedError({ op: direction });
    let opened: Uint8Array | null;
    try {
      opened = this.#cipher.decryptNow(key, this.#hi, this.#lo, ad, ciphertext, into);
    } catch (err) {
      this.#advance();
      throw err;
    }
    if (opened !== null) this.#advance();
    return opened;
  }

  /** EncryptWithAd(ad, plaintext); the plaintext as is while there is no key. */
  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array, direction = "send"): Promise<Uint8Array> {
    if (this.#key === null) return Promise.resolve(plaintext.slice());
    if (this.#exhausted()) return Promise.reject(new NonceExhaustedError({ op: direction }));
    const [hi, lo] = [this.#hi, this.#lo];
    this.#advance();
    return this.#cipher.encrypt(this.#key, hi, lo, ad, plaintext);
  }

  /** DecryptWithAd(ad, ciphertext); rejects with {@linkcode DecryptError}. */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array, direction = "receive"): Promise<Uint8Array> {
    if (this.#key === null) return Promise.resolve(ciphertext.slice());
    if (this.#exhausted()) return Promise.reject(new NonceExhaustedError({ op: direction }));
    const [hi, lo] = [this.#hi, this.#lo];
    this.#advance();
    return this.#cipher.decrypt(this.#key, hi, lo, ad, ciphertext);
  }

  /**
   * Whether the nonces are used up: the next is 2^64 - 1, which Noise
   * reserves. Unlike the spec, a failed decryption still used its nonce:
   * calls run in parallel, and a failure ends the session anyway.
   */
  #exhausted(): boolean {
    return this.#hi === 0xffff_ffff && this.#lo === 0xffff_ffff;
  }

  #advance(): void {
    this.#lo = (this.#lo + 1) >>> 0;
    if (this.#lo === 0) this.#hi++;
  }
}
