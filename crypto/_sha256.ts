/**
 * SHA-256 (FIPS 180-4) and HMAC-SHA-256 (RFC 2104) in plain TypeScript,
 * synchronous. A Noise handshake hashes a few hundred bytes in dozens of
 * calls; each WebCrypto or `node:crypto` call costs more in scheduling than
 * this costs in work (about a microsecond for a 64-byte input here, against
 * 10 to 50). Hashing handles no secret-dependent branches or table lookups,
 * so a plain implementation leaks nothing a native one would not. Checked
 * against the FIPS and RFC 4231 vectors in `tests/crypto_sha256_test.ts` and
 * by every Noise vector. Internal to `crypto/`.
 *
 * @module
 */

// Int32Array, not Uint32Array: their elements stay small integers for the JIT
// (a Uint32Array element over 2^31 is a double), which keeps a round in int32 arithmetic.
const K = Int32Array.of(
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
);

const W = new Int32Array(64);

/** The running hash: one at a time, as every call here runs to its end synchronously. */
const state = new Int32Array(8);
/** Bytes of a block not yet compressed. */
const pending = new Uint8Array(64);
let pendingLength = 0;
let totalLength = 0;

/** Runs the compression function over the 64-byte block of `data` at `at`. */
function compress(data: Uint8Array, at: number): void {
  for (let i = 0; i < 16; i++) {
    const j = at + i * 4;
    W[i] = (data[j] << 24) | (data[j + 1] << 16) | (data[j + 2] << 8) | data[j + 3];
  }
  for (let i = 16; i < 64; i++) {
    const a = W[i - 15], b = W[i - 2];
    const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
    const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
    W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
  }
  const h0 = state[0], h1 = state[1], h2 = state[2], h3 = state[3];
  const h4 = state[4], h5 = state[5], h6 = state[6], h7 = state[7];
  let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (h + S1 + ch + K[i] + W[i]) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (S0 + maj) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = h0 + a;
  state[1] = h1 + b;
  state[2] = h2 + c;
  state[3] = h3 + d;
  state[4] = h4 + e;
  state[5] = h5 + f;
  state[6] = h6 + g;
  state[7] = h7 + h;
}

const INITIAL = Int32Array.of(
  0x6a09e667,
  0xbb67ae85,
  0x3c6ef372,
  0xa54ff53a,
  0x510e527f,
  0x9b05688c,
  0x1f83d9ab,
  0x5be0cd19,
);

function begin(): void {
  state.set(INITIAL);
  pendingLength = 0;
  totalLength = 0;
}

function update(data: Uint8Array): void {
  let at = 0;
  const length = data.length;
  totalLength += length;
  if (pendingLength > 0) {
    const take = Math.min(64 - pendingLength, length);
    pending.set(data.subarray(0, take), pendingLength);
    pendingLength += take;
    at = take;
    if (pendingLength < 64) return;
    compress(pending, 0);
    pendingLength = 0;
  }
  for (; at + 64 <= length; at += 64) compress(data, at);
  if (at < length) {
    pending.set(data.subarray(at), 0);
    pendingLength = length - at;
  }
}

/** Pads, compresses the rest, and writes the digest into `out` from `at`. */
function finish(out: Uint8Array, at: number): void {
  const bits = totalLength * 8;
  pending[pendingLength++] = 0x80;
  if (pendingLength > 56) {
    pending.fill(0, pendingLength);
    compress(pending, 0);
    pendingLength = 0;
  }
  pending.fill(0, pendingLength, 56);
  const high = Math.floor(bits / 0x1_0000_0000), low = bits >>> 0;
  for (let i = 0; i < 4; i++) {
    pending[56 + i] = high >>> (24 - 8 * i);
    pending[60 + i] = low >>> (24 - 8 * i);
  }
  compress(pending, 0);
  for (let i = 0; i < 8; i++) {
    const word = state[i], o = at + 4 * i;
    out[o] = word >>> 24;
    out[o + 1] = word >>> 16;
    out[o + 2] = word >>> 8;
    out[o + 3] = word;
  }
}

/** SHA-256 of the concatenation of `parts`. */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  begin();
  for (let i = 0; i < parts.length; i++) update(parts[i]);
  const out = new Uint8Array(32);
  finish(out, 0);
  return out;
}

const keyBlock = new Uint8Array(64);
const innerDigest = new Uint8Array(32);

/** HMAC-SHA-256(key, data). */
export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  keyBlock.fill(0);
  if (key.length > 64) {
    begin();
    update(key);
    finish(keyBlock, 0);
  } else {
    keyBlock.set(key);
  }
  for (let i = 0; i < 64; i++) keyBlock[i] ^= 0x36;
  begin();
  update(keyBlock);
  update(data);
  finish(innerDigest, 0);
  for (let i = 0; i < 64; i++) keyBlock[i] ^= 0x36 ^ 0x5c;
  begin();
  update(keyBlock);
  update(innerDigest);
  const out = new Uint8Array(32);
  finish(out, 0);
  keyBlock.fill(0);
  return out;
}
