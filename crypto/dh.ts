/**
 * Noise's DH function for curve 25519: X25519 over WebCrypto.
 *
 * @module
 */

import { HandshakeError } from "../errors.ts";
import { source } from "./bytes.ts";
import { type DhKeyPair, KEY_LENGTH } from "./keys.ts";
import { hostCrypto, own } from "./_host.ts";

/** DHLEN: the length of a public key and of a shared secret. */
export const DH_LENGTH = KEY_LENGTH;

/** An X25519 SubjectPublicKeyInfo in DER, but for the 32 key bytes that end it. */
const SPKI_PREFIX = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00];

/** `publicKey` as the DER the runtime imports fastest (a JWK takes twice as long, with its base64). */
function spki(publicKey: Uint8Array): Uint8Array {
  const der = new Uint8Array(SPKI_PREFIX.length + publicKey.length);
  der.set(SPKI_PREFIX);
  der.set(publicKey, SPKI_PREFIX.length);
  return der;
}

/**
 * DH(key_pair, public_key): the 32-byte shared secret. WebCrypto refuses a
 * low-order public key (an all-zero result); that is the peer's fault, so it
 * becomes a {@linkcode HandshakeError}.
 */
export async function dh(keyPair: DhKeyPair, publicKey: Uint8Array): Promise<Uint8Array> {
  const host = keyPair.hostKey === undefined ? null : hostCrypto();
  if (host !== null) {
    let secret: Uint8Array;
    try {
      const remote = host.createPublicKey({ key: spki(publicKey), format: "der", type: "spki" });
      secret = own(host.diffieHellman({ privateKey: keyPair.hostKey!, publicKey: remote }));
    } catch (err) {
      throw new HandshakeError({ detail: "the peer's public key is invalid for X25519", cause: err });
    }
    // As WebCrypto does: a low-order public key gives all zeros.
    if (secret.length !== DH_LENGTH || secret.every((b) => b === 0)) {
      throw new HandshakeError({ detail: "the peer's public key is invalid for X25519 (a low-order point)" });
    }
    return secret;
  }
  let secret: ArrayBuffer;
  try {
    const remote = await crypto.subtle.importKey("raw", source(publicKey), { name: "X25519" }, false, []);
    secret = await crypto.subtle.deriveBits({ name: "X25519", public: remote }, keyPair.privateKey!, 256);
  } catch (err) {
    throw new HandshakeError({ detail: "the peer's public key is invalid for X25519", cause: err });
  }
  return new Uint8Array(secret);
}
