import assert from "node:assert/strict";
import { createCipheriv, randomBytes } from "node:crypto";
import { chachaKey, chachaOpen, chachaSeal, poly1305 } from "../crypto/_chacha20_poly1305.ts";

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const fromHex = (s: string) =>
  Uint8Array.from(s.replace(/\s/g, "").match(/../g) ?? [], (h) => parseInt(h, 16));
const word = (bytes: Uint8Array, at: number) =>
  (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;

function seal(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const out = new Uint8Array(plaintext.length + 16);
  chachaSeal(chachaKey(key), word(nonce, 0), word(nonce, 4), word(nonce, 8), ad, plaintext, out, 0);
  return out;
}

function open(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, sealed: Uint8Array): Uint8Array | null {
  const out = new Uint8Array(Math.max(0, sealed.length - 16));
  const ok = chachaOpen(
    chachaKey(key),
    word(nonce, 0),
    word(nonce, 4),
    word(nonce, 8),
    ad,
    sealed,
    0,
    sealed.length,
    out,
    0,
  );
  return ok ? out : null;
}

function nodeSeal(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const cipher = createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
  cipher.setAAD(ad, { plaintextLength: plaintext.length });
  const parts = [cipher.update(plaintext), cipher.final(), cipher.getAuthTag()];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) out.set(part, (at += part.length) - part.length);
  return out;
}

/** Poly1305 with BigInt: slow, and plainly the RFC's definition. */
function referencePoly1305(key: Uint8Array, message: Uint8Array): Uint8Array {
  const le = (bytes: Uint8Array) => bytes.reduceRight((n, b) => (n << 8n) | BigInt(b), 0n);
  const r = le(key.subarray(0, 16)) & 0x0ffffffc0ffffffc0ffffffc0fffffffn;
  const s = le(key.subarray(16, 32));
  const p = (1n << 130n) - 5n;
  let acc = 0n;
  for (let at = 0; at < message.length; at += 16) {
    const chunk = message.subarray(at, at + 16);
    acc = ((acc + le(chunk) + (1n << BigInt(8 * chunk.length))) * r) % p;
  }
  let tag = (acc + s) & ((1n << 128n) - 1n);
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++, tag >>= 8n) out[i] = Number(tag & 0xffn);
  return out;
}

Deno.test("chacha20-poly1305 seals RFC 8439's example (§2.8.2) to its ciphertext and tag, and opens it", () => {
  const key = fromHex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
  const nonce = fromHex("070000004041424344454647");
  const ad = fromHex("50515253c0c1c2c3c4c5c6c7");
  const plaintext = new TextEncoder().encode(
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, " +
      "sunscreen would be it.",
  );
  const sealed = seal(key, nonce, ad, plaintext);
  assert.equal(
    hex(sealed.subarray(0, plaintext.length)),
    "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b" +
      "1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc" +
      "3ff4def08e4b7a9de576d26586cec64b6116",
  );
  assert.equal(hex(sealed.subarray(plaintext.length)), "1ae10b594f09e26a7e902ecbd0600691");
  assert.deepEqual(open(key, nonce, ad, sealed), plaintext);
});

Deno.test("chacha20-poly1305 matches node:crypto for every length around the block edges, with and without ad", () => {
  for (let length = 0; length <= 300; length++) {
    for (const adLength of [0, 1, 15, 16, 17, 32]) {
      const key = randomBytes(32), nonce = randomBytes(12);
      const ad = randomBytes(adLength), plaintext = randomBytes(length);
      const expected = nodeSeal(key, nonce, ad, plaintext);
      const sealed = seal(key, nonce, ad, plaintext);
      assert.equal(hex(sealed), hex(expected), `length ${length}, ad ${adLength}`);
      assert.deepEqual(open(key, nonce, ad, sealed), new Uint8Array(plaintext));
    }
  }
  // Long messages, where the block counter runs on.
  for (const length of [1024, 4095, 65519]) {
    const key = randomBytes(32), nonce = randomBytes(12), plaintext = randomBytes(length);
    assert.equal(
      hex(seal(key, nonce, new Uint8Array(0), plaintext)),
      hex(nodeSeal(key, nonce, new Uint8Array(0), plaintext)),
    );
  }
});

Deno.test("chacha20-poly1305 refuses a changed byte anywhere, other ad, another nonce, and a message shorter than its tag", () => {
  const key = randomBytes(32), nonce = randomBytes(12), ad = randomBytes(5);
  const sealed = seal(key, nonce, ad, randomBytes(40));
  for (let i = 0; i < sealed.length; i++) {
    const changed = sealed.slice();
    changed[i] ^= 1 << (i % 8);
    assert.equal(open(key, nonce, ad, changed), null, `byte ${i}`);
  }
  assert.equal(open(key, nonce, randomBytes(5), sealed), null);
  const other = nonce.slice();
  other[11] ^= 1;
  assert.equal(open(key, other, ad, sealed), null);
  assert.equal(open(key, nonce, ad, sealed.subarray(0, 15)), null);
  assert.equal(open(key, nonce, ad, new Uint8Array(0)), null);
});

Deno.test("chacha20-poly1305 seals and opens in place, at an offset, without touching the bytes around", () => {
  const key = randomBytes(32), nonce = randomBytes(12), plaintext = randomBytes(100);
  const out = new Uint8Array(3 + 100 + 16 + 2).fill(0xee);
  chachaSeal(
    chachaKey(key),
    word(nonce, 0),
    word(nonce, 4),
    word(nonce, 8),
    new Uint8Array(0),
    plaintext,
    out,
    3,
  );
  assert.deepEqual([...out.subarray(0, 3), ...out.subarray(119)], [0xee, 0xee, 0xee, 0xee, 0xee]);
  assert.equal(hex(out.subarray(3, 119)), hex(nodeSeal(key, nonce, new Uint8Array(0), plaintext)));
  const opened = new Uint8Array(102).fill(0xdd);
  const k = chachaKey(key);
  assert.ok(
    chachaOpen(k, word(nonce, 0), word(nonce, 4), word(nonce, 8), new Uint8Array(0), out, 3, 119, opened, 1),
  );
  assert.deepEqual(opened.subarray(1, 101), new Uint8Array(plaintext));
  assert.deepEqual([opened[0], opened[101]], [0xdd, 0xdd]);
});

Deno.test("poly1305's limb arithmetic gives the BigInt reference's tags, at the edges of its reduction too", () => {
  const ones = (n: number) => new Uint8Array(n).fill(0xff);
  const key = (r: string, s = "00".repeat(16)) => fromHex(r + s);
  // RFC 8439 A.3's edge cases: h reaching p and 2^130, carries through every limb.
  const cases: [Uint8Array, Uint8Array, string][] = [
    [key("02" + "00".repeat(15)), ones(16), "03000000000000000000000000000000"],
    [
      key("02" + "00".repeat(15), "ff".repeat(16)),
      fromHex("02" + "00".repeat(15)),
      "03000000000000000000000000000000",
    ],
    [
      key("01" + "00".repeat(15)),
      new Uint8Array([...ones(16), 0xf0, ...ones(15), 0x11, ...new Uint8Array(15)]),
      "05000000000000000000000000000000",
    ],
    [
      key("01" + "00".repeat(15)),
      new Uint8Array([...ones(16), 0xfb, ...new Uint8Array(15).fill(0xfe), ...new Uint8Array(16).fill(0x01)]),
      "00000000000000000000000000000000",
    ],
    [key("02" + "00".repeat(15)), fromHex("fd" + "ff".repeat(15)), "faffffffffffffffffffffffffffffff"],
  ];
  for (const [k, message, tag] of cases) {
    assert.equal(hex(referencePoly1305(k, message)), tag);
    assert.equal(hex(poly1305(k, message)), tag);
  }
  // Random keys and messages, and the largest r and s with messages of all ones.
  for (let length = 0; length < 200; length++) {
    const k = randomBytes(32), message = randomBytes(length);
    assert.equal(hex(poly1305(k, message)), hex(referencePoly1305(k, message)), `length ${length}`);
    const big = ones(32), allOnes = ones(length);
    assert.equal(
      hex(poly1305(big, allOnes)),
      hex(referencePoly1305(big, allOnes)),
      `all ones, length ${length}`,
    );
  }
});

Deno.test("a cipher state puts its 64-bit nonce in each AEAD's byte order, past 2^32 too", async () => {
  const { AESGCM, CHACHAPOLY, CipherState } = await import("../crypto/cipher.ts");
  const key = randomBytes(32), plaintext = randomBytes(40);
  for (const n of [0n, 1n, 0xffff_ffffn, 0x1_0000_0005n, 0xfedc_ba98_7654_3210n]) {
    for (
      const [functions, algorithm, littleEndian] of [[AESGCM, "aes-256-gcm", false], [
        CHACHAPOLY,
        "chacha20-poly1305",
        true,
      ]] as const
    ) {
      const state = new CipherState(functions);
      await state.initializeKey(key);
      state.setNonce(n);
      const iv = new Uint8Array(12);
      new DataView(iv.buffer).setBigUint64(4, n, littleEndian);
      const cipher = createCipheriv(algorithm as "aes-256-gcm", key, iv, { authTagLength: 16 });
      const expected = hex(
        new Uint8Array([...cipher.update(plaintext), ...cipher.final(), ...cipher.getAuthTag()]),
      );
      assert.equal(
        hex(await state.encryptWithAd(new Uint8Array(0), plaintext)),
        expected,
        `${algorithm} at ${n}`,
      );
      assert.equal(state.nonce, n + 1n);
      state.setNonce(n);
      assert.equal(
        hex(state.encryptNow(new Uint8Array(0), plaintext)!),
        expected,
        `${algorithm} at ${n}, at once`,
      );
    }
  }
});
