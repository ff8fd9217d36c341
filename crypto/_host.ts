/**
 * The runtime's synchronous crypto (`node:crypto`, which Deno, Node and Bun
 * have), found when first needed through `process.getBuiltinModule`, never
 * imported: in a browser there is none, and WebCrypto does everything.
 *
 * Why: WebCrypto is asynchronous, and each call costs tens of microseconds
 * of scheduling on top of its work (a 64-byte AES-GCM seal takes ~25 µs, an
 * HMAC import and sign ~50 µs, an X25519 key pair ~350 µs in Deno 2.9),
 * which is most of a small record's round trip and of a handshake. The same
 * algorithms run synchronously here in a few microseconds. Big records stay
 * on WebCrypto, which runs them off the main thread and faster. Internal to
 * `crypto/`.
 *
 * @module
 */

/** The parts of `node:crypto` used here. */
export interface HostCrypto {
  createHash(algorithm: string): { update(data: Uint8Array): { digest(): Uint8Array } };
  createHmac(algorithm: string, key: Uint8Array): { update(data: Uint8Array): { digest(): Uint8Array } };
  createSecretKey(key: Uint8Array): HostKey;
  createCipheriv(
    algorithm: string,
    key: HostKey,
    iv: Uint8Array,
    options?: { authTagLength: number },
  ): HostCipher;
  createDecipheriv(
    algorithm: string,
    key: HostKey,
    iv: Uint8Array,
    options?: { authTagLength: number },
  ): HostDecipher;
  generateKeyPairSync(type: "x25519"): { publicKey: HostKey; privateKey: HostKey };
  createPublicKey(key: { key: { kty: string; crv: string; x: string }; format: "jwk" }): HostKey;
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

/** Base64url without padding, as JWK writes keys. */
export function toBase64Url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Bytes from base64url. */
export function fromBase64Url(text: string): Uint8Array {
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}
