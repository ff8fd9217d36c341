/**
 * ChaCha20-Poly1305 (RFC 8439) in plain TypeScript, synchronous: Noise's
 * `ChaChaPoly` cipher for the small records of a conversation, where a
 * WebCrypto call costs tens of microseconds of scheduling and a
 * `node:crypto` cipher object about ten in setup, against one or two here
 * for a 64-byte message. Both halves are constant-time by construction:
 * ChaCha20 is additions, rotations and XORs of 32-bit words, and Poly1305
 * works on 13-bit limbs whose products and sums stay exact in a double, with
 * no branch or table index that depends on a secret; the tag is checked with
 * a constant-time comparison before anything is decrypted. Checked against
 * RFC 8439's vectors and, for every length around the block edges, against
 * the runtime's own implementation in `tests/crypto_chacha_test.ts`.
 * Internal to `crypto/`.
 *
 * @module
 */

/** The tag Poly1305 appends. */
export const POLY1305_TAG_LENGTH = 16;

/** A 32-byte key as ChaCha20 reads it: eight little-endian words. */
export type ChaChaKey = Uint32Array;

/** Turns a 32-byte key into its words. */
export function chachaKey(raw: Uint8Array): ChaChaKey {
  if (raw.length !== 32) throw new RangeError(`a ChaCha20 key is 32 bytes, got ${raw.length}`);
  const words = new Uint32Array(8);
  for (let i = 0; i < 8; i++) words[i] = load32(raw, 4 * i);
  return words;
}

function load32(bytes: Uint8Array, at: number): number {
  return (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;
}

/** One keystream block's words, reused (the module is single-threaded). */
const block = new Uint32Array(16);

/**
 * The ChaCha20 block function (RFC 8439 §2.3) into {@linkcode block}: key,
 * 32-bit block counter, and the three words of the 96-bit nonce.
 */
function chachaBlock(key: ChaChaKey, counter: number, n0: number, n1: number, n2: number): void {
  const j0 = 0x61707865, j1 = 0x3320646e, j2 = 0x79622d32, j3 = 0x6b206574;
  const j4 = key[0], j5 = key[1], j6 = key[2], j7 = key[3];
  const j8 = key[4], j9 = key[5], j10 = key[6], j11 = key[7];
  const j12 = counter, j13 = n0, j14 = n1, j15 = n2;
  let x0 = j0, x1 = j1, x2 = j2, x3 = j3, x4 = j4, x5 = j5, x6 = j6, x7 = j7;
  let x8 = j8, x9 = j9, x10 = j10, x11 = j11, x12 = j12, x13 = j13, x14 = j14, x15 = j15;
  let t: number;
  for (let i = 0; i < 10; i++) {
    // Columns.
    x0 = (x0 + x4) | 0, t = x12 ^ x0, x12 = (t << 16) | (t >>> 16);
    x8 = (x8 + x12) | 0, t = x4 ^ x8, x4 = (t << 12) | (t >>> 20);
    x0 = (x0 + x4) | 0, t = x12 ^ x0, x12 = (t << 8) | (t >>> 24);
    x8 = (x8 + x12) | 0, t = x4 ^ x8, x4 = (t << 7) | (t >>> 25);
    x1 = (x1 + x5) | 0, t = x13 ^ x1, x13 = (t << 16) | (t >>> 16);
    x9 = (x9 + x13) | 0, t = x5 ^ x9, x5 = (t << 12) | (t >>> 20);
    x1 = (x1 + x5) | 0, t = x13 ^ x1, x13 = (t << 8) | (t >>> 24);
    x9 = (x9 + x13) | 0, t = x5 ^ x9, x5 = (t << 7) | (t >>> 25);
    x2 = (x2 + x6) | 0, t = x14 ^ x2, x14 = (t << 16) | (t >>> 16);
    x10 = (x10 + x14) | 0, t = x6 ^ x10, x6 = (t << 12) | (t >>> 20);
    x2 = (x2 + x6) | 0, t = x14 ^ x2, x14 = (t << 8) | (t >>> 24);
    x10 = (x10 + x14) | 0, t = x6 ^ x10, x6 = (t << 7) | (t >>> 25);
    x3 = (x3 + x7) | 0, t = x15 ^ x3, x15 = (t << 16) | (t >>> 16);
    x11 = (x11 + x15) | 0, t = x7 ^ x11, x7 = (t << 12) | (t >>> 20);
    x3 = (x3 + x7) | 0, t = x15 ^ x3, x15 = (t << 8) | (t >>> 24);
    x11 = (x11 + x15) | 0, t = x7 ^ x11, x7 = (t << 7) | (t >>> 25);
    // Diagonals.
    x0 = (x0 + x5) | 0, t = x15 ^ x0, x15 = (t << 16) | (t >>> 16);
    x10 = (x10 + x15) | 0, t = x5 ^ x10, x5 = (t << 12) | (t >>> 20);
    x0 = (x0 + x5) | 0, t = x15 ^ x0, x15 = (t << 8) | (t >>> 24);
    x10 = (x10 + x15) | 0, t = x5 ^ x10, x5 = (t << 7) | (t >>> 25);
    x1 = (x1 + x6) | 0, t = x12 ^ x1, x12 = (t << 16) | (t >>> 16);
    x11 = (x11 + x12) | 0, t = x6 ^ x11, x6 = (t << 12) | (t >>> 20);
    x1 = (x1 + x6) | 0, t = x12 ^ x1, x12 = (t << 8) | (t >>> 24);
    x11 = (x11 + x12) | 0, t = x6 ^ x11, x6 = (t << 7) | (t >>> 25);
    x2 = (x2 + x7) | 0, t = x13 ^ x2, x13 = (t << 16) | (t >>> 16);
    x8 = (x8 + x13) | 0, t = x7 ^ x8, x7 = (t << 12) | (t >>> 20);
    x2 = (x2 + x7) | 0, t = x13 ^ x2, x13 = (t << 8) | (t >>> 24);
    x8 = (x8 + x13) | 0, t = x7 ^ x8, x7 = (t << 7) | (t >>> 25);
    x3 = (x3 + x4) | 0, t = x14 ^ x3, x14 = (t << 16) | (t >>> 16);
    x9 = (x9 + x14) | 0, t = x4 ^ x9, x4 = (t << 12) | (t >>> 20);
    x3 = (x3 + x4) | 0, t = x14 ^ x3, x14 = (t << 8) | (t >>> 24);
    x9 = (x9 + x14) | 0, t = x4 ^ x9, x4 = (t << 7) | (t >>> 25);
  }
  block[0] = x0 + j0, block[1] = x1 + j1, block[2] = x2 + j2, block[3] = x3 + j3;
  block[4] = x4 + j4, block[5] = x5 + j5, block[6] = x6 + j6, block[7] = x7 + j7;
  block[8] = x8 + j8, block[9] = x9 + j9, block[10] = x10 + j10, block[11] = x11 + j11;
  block[12] = x12 + j12, block[13] = x13 + j13, block[14] = x14 + j14, block[15] = x15 + j15;
}

/**
 * XORs the keystream (from block 1 on, as the AEAD uses it) into
 * `input[from..to)`, writing to `output` from `at`; the two may be the same
 * bytes at the same place.
 */
function chachaXor(
  key: ChaChaKey,
  n0: number,
  n1: number,
  n2: number,
  input: Uint8Array,
  from: number,
  to: number,
  output: Uint8Array,
  at: number,
): void {
  let counter = 1;
  for (let offset = from; offset < to; offset += 64, counter++) {
    chachaBlock(key, counter, n0, n1, n2);
    const end = Math.min(64, to - offset);
    const shift = at - from;
    let i = 0;
    for (; i + 4 <= end; i += 4) {
      const w = block[i >>> 2], p = offset + i, o = p + shift;
      output[o] = input[p] ^ (w & 0xff);
      output[o + 1] = input[p + 1] ^ ((w >>> 8) & 0xff);
      output[o + 2] = input[p + 2] ^ ((w >>> 16) & 0xff);
      output[o + 3] = input[p + 3] ^ (w >>> 24);
    }
    for (; i < end; i++) {
      output[offset + i + shift] = input[offset + i] ^ ((block[i >>> 2] >>> (8 * (i & 3))) & 0xff);
    }
  }
}

// Poly1305 (RFC 8439 §2.5) in ten 13-bit limbs. The accumulator's limbs stay
// below 2^14 and r's below 2^13 (5r below 2^16), so a product is under 2^30
// and five of them, plus a carry, under 2^32: each limb of a product is
// summed in two halves, carried in between, with exact integer arithmetic.

/** r, the key's first half clamped, in limbs. */
const r = new Int32Array(10);
/** The accumulator, in limbs. */
const h = new Int32Array(10);
/** s, the key's second half, as eight 16-bit words. */
const s = new Uint16Array(8);
const pad = new Uint8Array(16);
const mac = new Uint8Array(16);

/** Starts a MAC keyed by the 32 bytes of the first keystream block. */
function polyInit(): void {
  // The key is block 0's first eight words: r is words 0-3 (clamped), s words 4-7.
  const r0 = block[0] & 0x0fffffff, r1 = block[1] & 0x0ffffffc;
  const r2 = block[2] & 0x0ffffffc, r3 = block[3] & 0x0ffffffc;
  r[0] = r0 & 0x1fff;
  r[1] = (r0 >>> 13) & 0x1fff;
  r[2] = ((r0 >>> 26) | (r1 << 6)) & 0x1fff;
  r[3] = (r1 >>> 7) & 0x1fff;
  r[4] = ((r1 >>> 20) | (r2 << 12)) & 0x1fff;
  r[5] = (r2 >>> 1) & 0x1fff;
  r[6] = (r2 >>> 14) & 0x1fff;
  r[7] = ((r2 >>> 27) | (r3 << 5)) & 0x1fff;
  r[8] = (r3 >>> 8) & 0x1fff;
  r[9] = (r3 >>> 21) & 0x1fff;
  for (let i = 0; i < 4; i++) {
    const w = block[4 + i];
    s[2 * i] = w & 0xffff;
    s[2 * i + 1] = w >>> 16;
  }
  h.fill(0);
}

/**
 * Absorbs the 16-byte blocks of `m` from `at` to `end`, each with `top`
 * (2^128, in the top limb) added: the AEAD pads every block with zeros, so
 * all of its blocks are full ones.
 */
function polyBlocks(m: Uint8Array, at: number, end: number, top = 0x800): void {
  const r0 = r[0], r1 = r[1], r2 = r[2], r3 = r[3], r4 = r[4];
  const r5 = r[5], r6 = r[6], r7 = r[7], r8 = r[8], r9 = r[9];
  const s1 = 5 * r1, s2 = 5 * r2, s3 = 5 * r3, s4 = 5 * r4, s5 = 5 * r5;
  const s6 = 5 * r6, s7 = 5 * r7, s8 = 5 * r8, s9 = 5 * r9;
  let h0 = h[0], h1 = h[1], h2 = h[2], h3 = h[3], h4 = h[4];
  let h5 = h[5], h6 = h[6], h7 = h[7], h8 = h[8], h9 = h[9];
  for (; at < end; at += 16) {
    const t0 = m[at] | (m[at + 1] << 8), t1 = m[at + 2] | (m[at + 3] << 8);
    const t2 = m[at + 4] | (m[at + 5] << 8), t3 = m[at + 6] | (m[at + 7] << 8);
    const t4 = m[at + 8] | (m[at + 9] << 8), t5 = m[at + 10] | (m[at + 11] << 8);
    const t6 = m[at + 12] | (m[at + 13] << 8), t7 = m[at + 14] | (m[at + 15] << 8);
    h0 += t0 & 0x1fff;
    h1 += ((t0 >>> 13) | (t1 << 3)) & 0x1fff;
    h2 += ((t1 >>> 10) | (t2 << 6)) & 0x1fff;
    h3 += ((t2 >>> 7) | (t3 << 9)) & 0x1fff;
    h4 += ((t3 >>> 4) | (t4 << 12)) & 0x1fff;
    h5 += (t4 >>> 1) & 0x1fff;
    h6 += ((t4 >>> 14) | (t5 << 2)) & 0x1fff;
    h7 += ((t5 >>> 11) | (t6 << 5)) & 0x1fff;
    h8 += ((t6 >>> 8) | (t7 << 8)) & 0x1fff;
    h9 += (t7 >>> 5) | top;
    let c: number, x: number;
    x = h0 * r0 + h1 * s9 + h2 * s8 + h3 * s7 + h4 * s6;
    c = x >>> 13;
    x = (x & 0x1fff) + h5 * s5 + h6 * s4 + h7 * s3 + h8 * s2 + h9 * s1;
    c += x >>> 13;
    const d0 = x & 0x1fff;
    x = c + h0 * r1 + h1 * r0 + h2 * s9 + h3 * s8 + h4 * s7;
    c = x >>> 13;
    x = (x & 0x1fff) + h5 * s6 + h6 * s5 + h7 * s4 + h8 * s3 + h9 * s2;
    c += x >>> 13;
    const d1 = x & 0x1fff;
    x = c + h0 * r2 + h1 * r1 + h2 * r0 + h3 * s9 + h4 * s8;
    c = x >>> 13;
    x = (x & 0x1fff) + h5 * s7 + h6 * s6 + h7 * s5 + h8 * s4 + h9 * s3;
    c += x >>> 13;
    const d2 = x & 0x1fff;
    x = c + h0 * r3 + h1 * r2 + h2 * r1 + h3 * r0 + h4 * s9;
    c = x >>> 13;
    x = (x & 0x1fff) + h5 * s8 + h6 * s7 + h7 * s6 + h8 * s5 + h9 * s4;
    c += x >>> 13;
    const d3 = x & 0x1fff;
    x = c + h0 * r4 + h1 * r3 + h2 * r2 + h3 * r1 + h4 * r0;
    c = x >>> 13;
    x = (x & 0x1fff) + h5 * s9 + h6 * s8 + h7 * s7 + h8 * s6 + h9 * s5;
    c += x >>> 13;
    const d4 = x & 0x1fff;
    x = c + h0 * r5 + h1 * r4 + h2 * r3 + h3 * r2 + h4 * r1;
    c = x >>> 13;
    x = (x & 0x1fff) + h5 * r0 + h6 * s9 + h7 * s8 + h8 * s7 + h9 * s6;
    c += x >>> 13;
    const d5 = x & 0x1fff;
    x = c + h0 * r6 + h1 * r5 + h2 * r4 + h3 * r3 + h4 * r2;
    c = x >>> 13;
    x = (x & 0x1fff) + h5 * r1 + h6 * r0 + h7 * s9 + h8 * s8 + h9 * s7;
    c += x >>> 13;
    const d6 = x & 0x1fff;
    x = c + h0 * r7 + h1 * r6 + h2 * r5 + h3 * r4 + h4 * r3;
    c = x >>> 13;
    x = (x & 0x1fff) + h5 * r2 + h6 * r1 + h7 * r0 + h8 * s9 + h9 * s8;
    c += x >>> 13;
    const d7 = x & 0x1fff;
    x = c + h0 * r8 + h1 * r7 + h2 * r6 + h3 * r5 + h4 * r4;
    c = x >>> 13;
    x = (x & 0x1fff) + h5 * r3 + h6 * r2 + h7 * r1 + h8 * r0 + h9 * s9;
    c += x >>> 13;
    const d8 = x & 0x1fff;
    x = c + h0 * r9 + h1 * r8 + h2 * r7 + h3 * r6 + h4 * r5;
    c = x >>> 13;
    x = (x & 0x1fff) + h5 * r4 + h6 * r3 + h7 * r2 + h8 * r1 + h9 * r0;
    c += x >>> 13;
    const d9 = x & 0x1fff;
    // 2^130 is 5 modulo p: the carry out of the top limb comes back in at the bottom.
    c = d0 + 5 * c;
    h0 = c & 0x1fff;
    h1 = d1 + (c >>> 13);
    h2 = d2, h3 = d3, h4 = d4, h5 = d5, h6 = d6, h7 = d7, h8 = d8, h9 = d9;
  }
  h[0] = h0, h[1] = h1, h[2] = h2, h[3] = h3, h[4] = h4;
  h[5] = h5, h[6] = h6, h[7] = h7, h[8] = h8, h[9] = h9;
}

/** Absorbs `m[from..to)` zero-padded to whole blocks. */
function polyPadded(m: Uint8Array, from: number, to: number): void {
  const whole = from + ((to - from) & ~15);
  polyBlocks(m, from, whole);
  if (whole < to) {
    pad.fill(0);
    for (let i = whole; i < to; i++) pad[i - whole] = m[i];
    polyBlocks(pad, 0, 16);
  }
}

/** h + 5, limb by limb, in {@linkcode polyFinish}. */
const g = new Int32Array(10);
/** h mod 2^128 as 16-bit words, in {@linkcode polyFinish}. */
const words = new Uint16Array(8);

/** Absorbs the lengths block and writes the tag into {@linkcode mac}. */
function polyFinish(adLength: number, textLength: number): void {
  storeLength(pad, 0, adLength);
  storeLength(pad, 8, textLength);
  polyBlocks(pad, 0, 16);
  polyTag();
}

/** Reduces the accumulator and writes the tag, h + s, into {@linkcode mac}. */
function polyTag(): void {
  // Carry fully, twice: every limb under 2^13, h below 2^130. (After the
  // first pass the value is under 2^130 plus a few; a carry out of the second
  // leaves it tiny, so adding 5 back cannot carry again.)
  let c = 0;
  for (let pass = 0; pass < 2; pass++) {
    c = 0;
    for (let i = 0; i < 10; i++) {
      const x = h[i] + c;
      c = x >>> 13;
      h[i] = x & 0x1fff;
    }
    h[0] += 5 * c;
  }
  // g = h + 5 - 2^130; take it when h >= p, that is when h + 5 reaches 2^130.
  c = 5;
  for (let i = 0; i < 10; i++) {
    const y = h[i] + c;
    c = y >>> 13;
    g[i] = y & 0x1fff;
  }
  const useG = -c; // all ones or zero
  for (let i = 0; i < 10; i++) h[i] = (h[i] & ~useG) | (g[i] & useG);
  // h mod 2^128, as 16-bit words, plus s.
  words[0] = h[0] | (h[1] << 13);
  words[1] = (h[1] >>> 3) | (h[2] << 10);
  words[2] = (h[2] >>> 6) | (h[3] << 7);
  words[3] = (h[3] >>> 9) | (h[4] << 4);
  words[4] = (h[4] >>> 12) | (h[5] << 1) | (h[6] << 14);
  words[5] = (h[6] >>> 2) | (h[7] << 11);
  words[6] = (h[7] >>> 5) | (h[8] << 8);
  words[7] = (h[8] >>> 8) | (h[9] << 5);
  let f = 0;
  for (let i = 0; i < 8; i++) {
    f = words[i] + s[i] + (f >>> 16);
    mac[2 * i] = f & 0xff;
    mac[2 * i + 1] = (f >>> 8) & 0xff;
  }
}

/** A length as 8 little-endian bytes (lengths here are far below 2^53). */
function storeLength(into: Uint8Array, at: number, length: number): void {
  const low = length >>> 0, high = (length - low) / 0x1_0000_0000;
  for (let i = 0; i < 4; i++) {
    into[at + i] = (low >>> (8 * i)) & 0xff;
    into[at + 4 + i] = (high >>> (8 * i)) & 0xff;
  }
}

/** The MAC of `ad` and `ciphertext[from..to)` under the one-time key of the nonce, into {@linkcode mac}. */
function tag(
  key: ChaChaKey,
  n0: number,
  n1: number,
  n2: number,
  ad: Uint8Array,
  ciphertext: Uint8Array,
  from: number,
  to: number,
): void {
  chachaBlock(key, 0, n0, n1, n2);
  polyInit();
  polyPadded(ad, 0, ad.length);
  polyPadded(ciphertext, from, to);
  polyFinish(ad.length, to - from);
}

/**
 * AEAD_CHACHA20_POLY1305 encryption of `plaintext` into `out` from `at`: the
 * ciphertext, then its 16-byte tag (`out` needs room for both). The 96-bit
 * nonce is three little-endian words.
 */
export function chachaSeal(
  key: ChaChaKey,
  n0: number,
  n1: number,
  n2: number,
  ad: Uint8Array,
  plaintext: Uint8Array,
  out: Uint8Array,
  at: number,
): void {
  const length = plaintext.length;
  chachaXor(key, n0, n1, n2, plaintext, 0, length, out, at);
  tag(key, n0, n1, n2, ad, out, at, at + length);
  out.set(mac, at + length);
}

/**
 * AEAD_CHACHA20_POLY1305 decryption of `sealed[from..to)` (ciphertext, then
 * tag) into `out` from `at`: `false`, with nothing written, if the tag does
 * not match.
 */
export function chachaOpen(
  key: ChaChaKey,
  n0: number,
  n1: number,
  n2: number,
  ad: Uint8Array,
  sealed: Uint8Array,
  from: number,
  to: number,
  out: Uint8Array,
  at: number,
): boolean {
  const end = to - POLY1305_TAG_LENGTH;
  if (end < from) return false;
  tag(key, n0, n1, n2, ad, sealed, from, end);
  let diff = 0;
  for (let i = 0; i < POLY1305_TAG_LENGTH; i++) diff |= mac[i] ^ sealed[end + i];
  if (diff !== 0) return false;
  chachaXor(key, n0, n1, n2, sealed, from, end, out, at);
  return true;
}

/**
 * Poly1305 on its own (RFC 8439 §2.5), with a final partial block padded as
 * the standalone MAC pads it: for tests of the arithmetic against a plain
 * reference, with keys the AEAD would never make.
 */
export function poly1305(key: Uint8Array, message: Uint8Array): Uint8Array {
  for (let i = 0; i < 8; i++) block[i] = load32(key, 4 * i);
  polyInit();
  const whole = message.length & ~15;
  polyBlocks(message, 0, whole);
  if (whole < message.length) {
    pad.fill(0);
    pad.set(message.subarray(whole));
    pad[message.length - whole] = 1;
    polyBlocks(pad, 0, 16, 0);
  }
  polyTag();
  return mac.slice();
}
