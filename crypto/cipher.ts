/**
 * Noise's cipher functions (AESGCM, ChaChaPoly) on WebCrypto, and the
 * CipherState that pairs a key with its message counter (Noise rev 34, §5.1).
 *
 * @module
 */

import { NonceExhaustedError, UnsupportedAlgorithmError } from "../errors.ts";
import { source } from "./bytes.ts";
import { hostCrypto, type HostKey, own } from "./_host.ts";

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
 * A key of an AEAD: WebCrypto's, and the runtime's synchronous one where it
 * has `node:crypto` (see `_host.ts`); neither keeps the raw bytes in reach.
 */
export interface CipherKey {
  /** The key as a `node:crypto` KeyObject, or `null` where there is none. */
  readonly host: HostKey | null;
  /**
   * The WebCrypto key (non-extractable) once imported, else `null`: where
   * `host` is set, it is imported only when a record too big for the host
   * path first needs it, as a handshake's keys never do.
   */
  readonly web: CryptoKey | null;
  /** The WebCrypto key, imported on first use. */
  webKey(): Promise<CryptoKey>;
}

/** One AEAD as Noise uses it: a 32-byte key and a 64-bit counter nonce. */
export interface CipherFunctions {
  /** Its name in a Noise protocol name. */
  readonly name: CipherName;
  /** Turns 32 raw key bytes into a key for this AEAD. */
  importKey(raw: Uint8Array): Promise<CipherKey>;
  /** ENCRYPT(k, n, ad, plaintext). */
  encrypt(key: CipherKey, n: bigint, ad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array>;
  /** DECRYPT(k, n, ad, ciphertext); rejects with {@linkcode DecryptError}. */
  decrypt(key: CipherKey, n: bigint, ad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array>;
}

/**
 * Messages up to this size are sealed and opened synchronously where the
 * runtime can (a few microseconds instead of a WebCrypto round trip); bigger
 * ones go to WebCrypto, which runs them off the main thread and is faster
 * per byte.
 */
export const HOST_CIPHER_LIMIT = 1024;

/** A 12-byte nonce: 4 zero bytes, then the counter in the AEAD's byte order. */
function nonce(n: bigint, littleEndian: boolean): Uint8Array<ArrayBuffer> {
  const iv = new Uint8Array(12);
  new DataView(iv.buffer).setBigUint64(4, n, littleEndian);
  return iv;
}

function webCryptoCipher(
  name: CipherName,
  algorithm: string,
  format: "raw" | "raw-secret",
  littleEndian: boolean,
  hostAlgorithm: string,
): CipherFunctions {
  const hostOptions = { authTagLength: TAG_LENGTH };
  return {
    name,
    importKey(raw) {
      const importWeb = (bytes: Uint8Array) =>
        crypto.subtle.importKey(format as "raw", source(bytes), { name: algorithm }, false, [
          "encrypt",
          "decrypt",
        ]);
      const host = hostCrypto();
      if (host === null) {
        return importWeb(raw).then((web) => ({ host: null, web, webKey: () => Promise.resolve(web) }));
      }
      // WebCrypto's import is a round trip through its thread pool; a
      // handshake makes several keys and seals only tiny messages with them.
      const hostKey = host.createSecretKey(raw.slice());
      let importing: Promise<CryptoKey> | undefined;
      const key: { host: HostKey; web: CryptoKey | null; webKey(): Promise<CryptoKey> } = {
        host: hostKey,
        web: null,
        webKey: () =>
          importing ??= (() => {
            const bytes = own(hostKey.export());
            const imported = importWeb(bytes);
            bytes.fill(0);
            return imported.then((web) => key.web = web);
          })(),
      };
      return Promise.resolve(key);
    },
    encrypt(key, n, ad, plaintext) {
      const iv = nonce(n, littleEndian);
      const host = key.host === null || plaintext.length > HOST_CIPHER_LIMIT ? null : hostCrypto();
      if (host !== null) {
        const cipher = host.createCipheriv(hostAlgorithm, key.host!, iv, hostOptions);
        cipher.setAAD(ad);
        const head = cipher.update(plaintext);
        const tail = cipher.final();
        const tag = cipher.getAuthTag();
        const out = new Uint8Array(head.length + tail.length + tag.length);
        out.set(head);
        out.set(tail, head.length);
        out.set(tag, head.length + tail.length);
        return Promise.resolve(out);
      }
      const seal = (web: CryptoKey, bytes: Uint8Array, data: Uint8Array) =>
        crypto.subtle.encrypt({ name: algorithm, iv, additionalData: source(data) }, web, source(bytes))
          .then((sealed) => new Uint8Array(sealed));
      if (key.web !== null) return seal(key.web, plaintext, ad);
      // Callers may refill their buffers once this returns: copy them while the key is imported.
      const [bytes, data] = [plaintext.slice(), ad.slice()];
      return key.webKey().then((web) => seal(web, bytes, data));
    },
    decrypt(key, n, ad, ciphertext) {
      const iv = nonce(n, littleEndian);
      const host = key.host === null || ciphertext.length > HOST_CIPHER_LIMIT + TAG_LENGTH
        ? null
        : hostCrypto();
      if (host !== null) {
        if (ciphertext.length < TAG_LENGTH) {
          return Promise.reject(new DecryptError(new Error("shorter than a tag")));
        }
        try {
          const decipher = host.createDecipheriv(hostAlgorithm, key.host!, iv, hostOptions);
          decipher.setAAD(ad);
          decipher.setAuthTag(ciphertext.subarray(ciphertext.length - TAG_LENGTH));
          const head = decipher.update(ciphertext.subarray(0, ciphertext.length - TAG_LENGTH));
          const tail = decipher.final(); // throws on a bad tag
          if (tail.length === 0) return Promise.resolve(own(head));
          const out = new Uint8Array(head.length + tail.length);
          out.set(head);
          out.set(tail, head.length);
          return Promise.resolve(out);
        } catch (err) {
          return Promise.reject(new DecryptError(err));
        }
      }
      const open = (web: CryptoKey, bytes: Uint8Array, data: Uint8Array) =>
        crypto.subtle.decrypt({ name: algorithm, iv, additionalData: source(data) }, web, source(bytes))
          .then((opened) => new Uint8Array(opened), (err) => Promise.reject(new DecryptError(err)));
      if (key.web !== null) return open(key.web, ciphertext, ad);
      const [bytes, data] = [ciphertext.slice(), ad.slice()];
      return key.webKey().then((web) => open(web, bytes, data));
    },
  };
}

/** AES-256-GCM; the nonce counter is big-endian. */
export const AESGCM: CipherFunctions = webCryptoCipher("AESGCM", "AES-GCM", "raw", false, "aes-256-gcm");

const CHACHA_ALGORITHM = "ChaCha20-Poly1305";
const chachaFunctions = webCryptoCipher(
  "ChaChaPoly",
  CHACHA_ALGORITHM,
  "raw-secret",
  true,
  "chacha20-poly1305",
);
let chachaSupport: Promise<boolean> | undefined;

/**
 * Whether this runtime's WebCrypto has ChaCha20-Poly1305 (Deno 2.9 does;
 * Node 20 does not), so `cipher: "ChaChaPoly"` can be offered.
 *
 * @example
 * ```ts
 * import { hasChaChaPoly } from "@tether/tether/crypto";
 *
 * const cipher = (await hasChaChaPoly()) ? "ChaChaPoly" : "AESGCM";
 * console.log(cipher);
 * ```
 */
export function hasChaChaPoly(): Promise<boolean> {
  return chachaSupport ??= crypto.subtle.importKey(
    "raw-secret" as "raw",
    new Uint8Array(32),
    {
      name: CHACHA_ALGORITHM,
    },
    false,
    ["encrypt", "decrypt"],
  ).then(() => true, () => false);
}

/**
 * ChaCha20-Poly1305, with WebCrypto's `"raw-secret"` key format; the nonce
 * counter is little-endian. Rejects with {@linkcode UnsupportedAlgorithmError}
 * where the runtime lacks it.
 */
export async function chachaPoly(): Promise<CipherFunctions> {
  if (await hasChaChaPoly()) return chachaFunctions;
  throw new UnsupportedAlgorithmError({ algorithm: CHACHA_ALGORITHM, detail: 'use cipher: "AESGCM"' });
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
  #n = 0n;

  /** Makes an empty cipher state for `cipher`. */
  constructor(cipher: CipherFunctions) {
    this.#cipher = cipher;
  }

  /** The cipher functions in use. */
  get cipher(): CipherFunctions {
    return this.#cipher;
  }

  /** InitializeKey(key): sets the key and resets the nonce. */
  async initializeKey(raw: Uint8Array): Promise<void> {
    this.#key = await this.#cipher.importKey(raw);
    this.#n = 0n;
  }

  /** HasKey(). */
  hasKey(): boolean {
    return this.#key !== null;
  }

  /** The next nonce. */
  get nonce(): bigint {
    return this.#n;
  }

  /** SetNonce(nonce); tests use it to reach the end of the nonce space. */
  setNonce(n: bigint): void {
    if (n < 0n || n > MAX_NONCE) throw new RangeError(`nonce must be in [0, 2^64-1], got ${n}`);
    this.#n = n;
  }

  /** EncryptWithAd(ad, plaintext); the plaintext as is while there is no key. */
  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array, direction = "send"): Promise<Uint8Array> {
    if (this.#key === null) return Promise.resolve(plaintext.slice());
    const n = this.#take();
    if (n === null) return Promise.reject(new NonceExhaustedError({ op: direction }));
    return this.#cipher.encrypt(this.#key, n, ad, plaintext);
  }

  /** DecryptWithAd(ad, ciphertext); rejects with {@linkcode DecryptError}. */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array, direction = "receive"): Promise<Uint8Array> {
    if (this.#key === null) return Promise.resolve(ciphertext.slice());
    const n = this.#take();
    if (n === null) return Promise.reject(new NonceExhaustedError({ op: direction }));
    return this.#cipher.decrypt(this.#key, n, ad, ciphertext);
  }

  /**
   * Takes the next nonce, or `null` once they are used up. Unlike the spec, a failed decryption still used its
   * nonce: calls run in parallel, and a failure ends the session anyway.
   */
  #take(): bigint | null {
    const n = this.#n;
    if (n === MAX_NONCE) return null;
    this.#n = n + 1n;
    return n;
  }
}
