/**
 * Noise's DH function for curve 25519: X25519 over WebCrypto.
 *
 * @module
 */

import { HandshakeError } from "../errors.ts";
import { source } from "./bytes.ts";
import { KEY_LENGTH, type KeyPair } from "./keys.ts";

/** DHLEN: the length of a public key and of a shared secret. */
export const DH_LENGTH = KEY_LENGTH;

/**
 * DH(key_pair, public_key): the 32-byte shared secret. WebCrypto refuses a
 * low-order public key (an all-zero result); that is the peer's fault, so it
 * becomes a {@linkcode HandshakeError}.
 */
export async function dh(keyPair: KeyPair, publicKey: Uint8Array): Promise<Uint8Array> {
  let secret: ArrayBuffer;
  try {
    const remote = await crypto.subtle.importKey("raw", source(publicKey), { name: "X25519" }, false, []);
    secret = await crypto.subtle.deriveBits({ name: "X25519", public: remote }, keyPair.privateKey, 256);
  } catch (err) {
    throw new HandshakeError({ detail: "the peer's public key is invalid for X25519", cause: err });
  }
  return new Uint8Array(secret);
}
