import assert from "node:assert/strict";
import { hmacSha256, sha256 } from "../crypto/_sha256.ts";

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const text = (s: string) => new TextEncoder().encode(s);
const fromHex = (s: string) => Uint8Array.from(s.match(/../g)!, (h) => parseInt(h, 16));

Deno.test("sha256 gives the FIPS 180-4 digests, and WebCrypto's for every length around the block edges", async () => {
  assert.equal(hex(sha256(text(""))), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assert.equal(hex(sha256(text("abc"))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assert.equal(
    hex(sha256(text("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
  for (let n = 0; n < 300; n++) {
    const data = Uint8Array.from({ length: n }, (_, i) => (i * 7 + n) & 255);
    const expected = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
    assert.deepEqual(sha256(data), expected, `length ${n}`);
    assert.deepEqual(
      sha256(data.subarray(0, n >> 1), data.subarray(n >> 1)),
      expected,
      `length ${n} in two parts`,
    );
  }
});

Deno.test("hmacSha256 gives the RFC 4231 results, and WebCrypto's for keys of every size", async () => {
  assert.equal(
    hex(hmacSha256(new Uint8Array(20).fill(0x0b), text("Hi There"))),
    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
  );
  assert.equal(
    hex(hmacSha256(text("Jefe"), text("what do ya want for nothing?"))),
    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
  );
  assert.equal(
    hex(
      hmacSha256(
        new Uint8Array(131).fill(0xaa),
        text("Test Using Larger Than Block-Size Key - Hash Key First"),
      ),
    ),
    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
  );
  for (const n of [1, 32, 63, 64, 65, 200]) {
    const key = Uint8Array.from({ length: n }, (_, i) => i);
    const data = fromHex("00112233445566778899");
    const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    assert.deepEqual(
      hmacSha256(key, data),
      new Uint8Array(await crypto.subtle.sign("HMAC", k, data)),
      `key ${n}`,
    );
  }
});
