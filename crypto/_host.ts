/**
 * The runtime's synchronous crypto (`node:crypto`, which Deno, Node and Bun
 * have), found when first needed through `process.getBuiltinModule`, never
 * imported: in a browser there is none, and WebCrypto does everything.
 *
 * Why: WebCrypto is asynchronous, and each call costs tens of microseconds
 * of scheduling on top of its work (a 64-byte AES-GCM seal takes ~25 µs, an
 * HMAC import and sign ~50 µs, an X25519 key pair ~350 µs in Deno 2.9),
 * which is most of a small record's round trip and of a handshake. The same
 * algorithms run synchronously here in a few microseconds: X25519, AES-GCM
 * records up to 512 B, and ChaCha20-Poly1305 records over 512 B where the
 * host has that cipher (its small ones are cheaper still in plain
 * TypeScript, `_chacha20_poly1305.ts`). Big AES-GCM records stay on
 * WebCrypto, which runs them off the main thread.
 * The synchronous ciphers take the raw key (kept by `CipherKey`): a
 * `KeyObject` there costs an export per record. Internal to `crypto/`.
 *
 * @module
 */

/** The parts of `node:crypto` used here. */
export interface HostCrypto {
  createHash(algorithm: string): { update(data: Uint8Array): { digest(): Uint8Array } };
  createHmac(algorithm: string, key: Uint8Array): { update(data: Uint8Array): { digest(): Uint8Array } };
  createCipheriv(
    algorithm: string,
    key: HostKey | Uint8Array,
    iv: Uint8Array,
    options?: { authTagLength: number },
  ): HostCipher;
  createDecipheriv(
    algorithm: string,
    key: HostKey | Uint8Array,
    iv: Uint8Array,
    options?: { authTagLength: number },
  ): HostDecipher;
  generateKeyPairSync(type: "x25519"): { publicKey: HostKey; privateKey: HostKey };
  createPublicKey(key: { key: Uint8Array; format: "der"; type: "spki" }): HostKey;
  diffieHellman(options: { privateKey: HostKey; publicKey: HostKey }): Uint8Array;
}

/** A `node:crypto` KeyObject. */
export interface HostKey {
  readonly type: string;
  /** A public key as a JWK. */
  export(options: { format: "jwk" }): { x?: string };
  /** A secret key's raw bytes. */
  export(): Uint8Array;
}

interface HostCipher {
  setAAD(ad: Uint8Array): void;
  update(data: Uint8Array): Uint8Array;
  final(): Uint8Array;
  getAuthTag(): Uint8Array;
}

interface HostDecipher {
  setAAD(ad: Uint8Array): void;
  setAuthTag(tag: Uint8Array): void;
  update(data: Uint8Array): Uint8Array;
  final(): Uint8Array;
}

let found: HostCrypto | null | undefined;

/** The runtime's `node:crypto`, or `null` where there is none. */
export function hostCrypto(): HostCrypto | null {
  if (found !== undefined) return found;
  try {
    const process = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    const module = process?.getBuiltinModule?.("node:crypto") as Partial<HostCrypto> | undefined;
    found = typeof module?.createCipheriv === "function" && typeof module.diffieHellman === "function"
      ? module as HostCrypto
      : null;
  } catch {
    found = null;
  }
  return found;
}

/** Test only: forces the WebCrypto paths (`null`) or looks the host up again (`undefined`). */
export function setHostCrypto(value: HostCrypto | null | undefined): void {
  found = value;
}

/** A plain copy: node's `Buffer`s may share a pooled `ArrayBuffer`. */
export function own(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const BASE64URL_VALUES = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE64URL.length; i++) BASE64URL_VALUES[BASE64URL.charCodeAt(i)] = i;

/**
 * Base64url without padding, as JWK writes keys. Plain loops: a handshake
 * converts two keys, once each, and `btoa`/`atob` with `Uint8Array.from`
 * cost tens of microseconds there, before the JIT has seen them.
 */
export function toBase64Url(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6));
    for (let k = 0; k < chars; k++) text += BASE64URL[(n >>> (18 - 6 * k)) & 63];
  }
  return text;
}

/** Bytes from base64url (padding, if any, ignored); a character outside the alphabet is a `TypeError`. */
export function fromBase64Url(text: string): Uint8Array {
  const length = text.endsWith("==") ? text.length - 2 : text.endsWith("=") ? text.length - 1 : text.length;
  const out = new Uint8Array(Math.floor((length * 6) / 8));
  let bits = 0, value = 0, at = 0;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    const v = code < 128 ? BASE64URL_VALUES[code] : -1;
    if (v < 0) throw new TypeError(`not base64url: ${JSON.stringify(text[i])}`);
    value = ((value << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (value >>> bits) & 0xff;
    }
  }
  return out;
}
