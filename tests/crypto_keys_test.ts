import assert from "node:assert/strict";
import {
  exportPrivateKey,
  exportPublicKey,
  generateKeyPair,
  importKeyPair,
  importPublicKey,
} from "../crypto/mod.ts";
import { dh } from "../crypto/dh.ts";
import { HandshakeError } from "../mod.ts";

const hex = (s: string) => Uint8Array.from(s.match(/../g)!, (b) => parseInt(b, 16));

// RFC 7748, section 6.1.
const alicePrivate = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
const alicePublic = hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
const bobPrivate = hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
const bobPublic = hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
const shared = hex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");

Deno.test("importKeyPair derives the RFC 7748 public keys, and DH gives their shared secret", async () => {
  const alice = await importKeyPair(alicePrivate);
  const bob = await importKeyPair(bobPrivate, { extractable: false });
  assert.deepEqual(alice.publicKey, alicePublic);
  assert.deepEqual(bob.publicKey, bobPublic);
  assert.deepEqual(await dh(alice, bob.publicKey), shared);
  assert.deepEqual(await dh(bob, alice.publicKey), shared);
});

Deno.test("a raw private key survives export and import", async () => {
  const keys = await generateKeyPair();
  const raw = await exportPrivateKey(keys);
  assert.equal(raw.length, 32);
  const again = await importKeyPair(raw);
  assert.deepEqual(again.publicKey, keys.publicKey);
  assert.deepEqual(exportPublicKey(again), keys.publicKey);
  assert.deepEqual(await exportPrivateKey(await importKeyPair(alicePrivate)), alicePrivate);
});

Deno.test("a non-extractable key pair refuses export with a TypeError", async () => {
  const keys = await generateKeyPair({ extractable: false });
  await assert.rejects(exportPrivateKey(keys), TypeError);
});

Deno.test("keys of the wrong size or type are RangeError or TypeError", async () => {
  assert.throws(() => importPublicKey(new Uint8Array(31)), RangeError);
  assert.throws(() => importPublicKey("key" as unknown as Uint8Array), TypeError);
  await assert.rejects(importKeyPair(new Uint8Array(33)), RangeError);
  await assert.rejects(generateKeyPair({ extractable: "yes" as unknown as boolean }), TypeError);
  assert.throws(() => exportPublicKey({} as never), TypeError);
});

Deno.test("DH with a low-order public key is a HandshakeError", async () => {
  const keys = await generateKeyPair();
  await assert.rejects(dh(keys, new Uint8Array(32)), HandshakeError);
});

Deno.test("base64url to and from bytes agrees with btoa/atob for every length, padded or not, and refuses other characters", async () => {
  const { fromBase64Url, toBase64Url } = await import("../crypto/_host.ts");
  for (let n = 0; n < 70; n++) {
    const bytes = crypto.getRandomValues(new Uint8Array(n));
    const padded = btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_");
    const unpadded = padded.replace(/=+$/, "");
    assert.equal(toBase64Url(bytes), unpadded, `length ${n}`);
    assert.deepEqual(fromBase64Url(unpadded), bytes, `length ${n}`);
    assert.deepEqual(fromBase64Url(padded), bytes, `length ${n}, padded`);
  }
  assert.throws(() => fromBase64Url("ab+c"), TypeError);
  assert.throws(() => fromBase64Url("a€"), TypeError);
});
