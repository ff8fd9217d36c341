/**
 * Noise's hash functions (SHA256, SHA512) on WebCrypto, with the HMAC-based
 * HKDF the spec defines (Noise rev 34, §4.3).
 *
 * @module
 */

/**
 * The hash names of a Noise protocol name: SHA-256 or SHA-512.
 *
 * @example
 * ```ts
 * import type { HashName } from "@tether/tether/crypto";
 *
 * const hash: HashName = "SHA512";
 * console.log(hash);
 * ```
 */
export type HashName = "SHA256" | "SHA512";

/** One hash as Noise uses it. */
export interface HashFunctions {
  /** Its name in a Noise protocol name. */
  readonly name: HashName;
  /** HASHLEN: the length of a digest. */
  readonly hashLength: number;
  /** HASH(data). */
  hash(data: Uint8Array): Promise<Uint8Array>;
  /** HKDF(chaining_key, input_key_material, num_outputs): 2 or 3 outputs of HASHLEN. */
  hkdf(chainingKey: Uint8Array, ikm: Uint8Array, outputs: 2 | 3): Promise<Uint8Array[]>;
}

import { source } from "./bytes.ts";
import { hostCrypto, own } from "./_host.ts";
import { hmacSha256, sha256 } from "./_sha256.ts";

/** The hash functions of `algorithm`: synchronous where the runtime allows (see below), WebCrypto otherwise. */
function makeHashFunctions(name: HashName, algorithm: string, hashLength: number): HashFunctions {
  const hmacParams = { name: "HMAC", hash: algorithm };
  const hostName = algorithm.replace("-", "").toLowerCase(); // "sha256", "sha512"
  async function webHmac(key: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
    const k = await crypto.subtle.importKey("raw", source(key), hmacParams, false, ["sign"]);
    return new Uint8Array(await crypto.subtle.sign("HMAC", k, source(data)));
  }
  // Where the runtime has synchronous hashing, a handshake's dozens of
  // hashes and HMACs cost microseconds instead of a WebCrypto round each.
  function hmac(key: Uint8Array, data: Uint8Array): Uint8Array | Promise<Uint8Array> {
    if (name === "SHA256") return hmacSha256(key, data);
    const host = hostCrypto();
    return host === null ? webHmac(key, data) : own(host.createHmac(hostName, key).update(data).digest());
  }
  return {
    name,
    hashLength,
    hash(data) {
      if (name === "SHA256") return Promise.resolve(sha256(data));
      const host = hostCrypto();
      if (host !== null) return Promise.resolve(own(host.createHash(hostName).update(data).digest()));
      return crypto.subtle.digest(algorithm, source(data)).then((digest) => new Uint8Array(digest));
    },
    async hkdf(chainingKey, ikm, outputs) {
      const tempKey = await hmac(chainingKey, ikm);
      const result: Uint8Array[] = [];
      let previous: Uint8Array = new Uint8Array(0);
      for (let i = 1; i <= outputs; i++) {
        const input = new Uint8Array(previous.length + 1);
        input.set(previous);
        input[previous.length] = i;
        previous = await hmac(tempKey, input);
        result.push(previous);
      }
      return result;
    },
  };
}

/** SHA-256. */
export const SHA256: HashFunctions = makeHashFunctions("SHA256", "SHA-256", 32);

/** SHA-512. */
export const SHA512: HashFunctions = makeHashFunctions("SHA512", "SHA-512", 64);

/** The hash functions for `name`. */
export function hashFunctions(name: HashName): HashFunctions {
  return name === "SHA512" ? SHA512 : SHA256;
}
