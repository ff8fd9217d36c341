/**
 * Byte streams for the checks: a test pattern that shows where a byte went
 * missing, helpers to write, read and compare it, and the model of a stream
 * whose exact shape depends on how a race came out. Private to the kit.
 *
 * @module
 */

import type { Conn } from "../conn.ts";
import { ConnClosedError } from "../errors.ts";
import { assert, bytesEqual, described, fail } from "./_assert.ts";
import { seededRandom } from "./_random.ts";

/** One mebibyte. */
export const MiB = 1024 * 1024;

/** The bytes of `s` in UTF-8. */
export const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Settles after `ms` milliseconds, letting the event loop run I/O meanwhile. */
export function tick(ms = 5): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The byte at position `i` of a test stream: not periodic at any power of two below 16 MiB. */
export function patternByte(i: number): number {
  return (i ^ (i >>> 7) ^ (i >>> 15) ^ (i >>> 23)) & 0xff;
}

/** Fills `buf` with the test stream's bytes from position `start`. */
export function fillPattern(buf: Uint8Array, start: number): Uint8Array {
  for (let i = 0; i < buf.length; i++) buf[i] = patternByte(start + i);
  return buf;
}

/** Fails unless `bytes` are the test stream's bytes from position `start`. */
export function assertPattern(bytes: Uint8Array, start: number, what: string): void {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== patternByte(start + i)) {
      fail(`${what}, byte ${start + i} of the stream`, `${patternByte(start + i)}`, bytes[i]);
    }
  }
}

/** Writes `total` pattern bytes in random chunk sizes, then half-closes. */
export async function sendPattern(
  conn: Conn,
  total: number,
  seed: number,
  maxChunk = 64 * 1024,
): Promise<void> {
  const next = seededRandom(seed);
  const buf = new Uint8Array(maxChunk);
  for (let sent = 0; sent < total;) {
    const n = Math.min(total - sent, 1 + Math.floor(next() * maxChunk));
    // The same buffer every time: the conn must not keep it after write resolves.
    const written = await conn.write(fillPattern(buf.subarray(0, n), sent));
    assert(written === n, "write()", `to resolve with the ${n} bytes it was given`, written);
    sent += n;
  }
  await conn.closeWrite();
}

/** Reads to EOF in random read sizes, checking the pattern; returns the count. */
export async function receivePattern(conn: Conn, seed: number, maxRead = 64 * 1024): Promise<number> {
  const next = seededRandom(seed);
  const buf = new Uint8Array(maxRead);
  let received = 0;
  while (true) {
    const size = 1 + Math.floor(next() * maxRead);
    const n = await conn.read(buf.subarray(0, size));
    if (n === null) return received;
    assert(n > 0 && n <= size, `read() into ${size} bytes`, `a count from 1 to ${size}, or null at EOF`, n);
    assertPattern(buf.subarray(0, n), received, "the received stream");
    received += n;
  }
}

/** Reads exactly `n` bytes, failing at EOF. */
export async function readExactly(conn: Conn, n: number): Promise<Uint8Array> {
  const buf = new Uint8Array(n);
  for (let got = 0; got < n;) {
    const k = await conn.read(buf.subarray(got));
    if (k === null) fail(`reading ${n} bytes`, `${n} bytes`, described(`EOF after ${got}`));
    got += k;
  }
  return buf;
}

/** Reads to EOF. */
export async function readAll(conn: Conn): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const buf = new Uint8Array(64 * 1024);
  for (let n; (n = await conn.read(buf)) !== null;) parts.push(buf.slice(0, n));
  return concat(parts);
}

/**
 * Writes a few bytes every 5 ms until a write fails, which must be with
 * `ConnClosedError`, within 10 s: a socket may take a write or two before it
 * learns that its peer is gone, as with EPIPE.
 */
export async function writeUntilRefused(conn: Conn, signal: AbortSignal, what: string): Promise<void> {
  const until = Date.now() + 10_000;
  while (!signal.aborted) {
    const err = await conn.write(text("anyone?")).then(() => null, (e) => e);
    if (err !== null) {
      assert(err instanceof ConnClosedError, what, "to reject with a ConnClosedError", err);
      return;
    }
    if (Date.now() > until) {
      fail(what, "to reject with a ConnClosedError within 10 s", described("every write succeeded"));
    }
    await tick(5);
  }
}

/** Joins byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A stretch of the expected stream. */
type Segment =
  | { kind: "pattern"; start: number; length: number; what: string }
  | { kind: "bytes"; bytes: Uint8Array; what: string }
  | { kind: "prefix"; bytes: Uint8Array; what: string };

/**
 * What a reader must see, built up as the writes are made: pattern ranges
 * and exact byte runs that must arrive whole, and at most one run (an aborted
 * write's) of which any prefix may arrive, from none to all of it.
 */
export class ExpectedStream {
  #segments: Segment[] = [];
  #prefixes = 0;

  /** Pattern bytes from `start`, `length` of them, in full. */
  pattern(start: number, length: number, what: string): void {
    this.#segments.push({ kind: "pattern", start, length, what });
  }

  /** These bytes in full (copied now: the caller may refill its buffer). */
  bytes(bytes: Uint8Array, what: string): void {
    this.#segments.push({ kind: "bytes", bytes: bytes.slice(), what });
  }

  /** Any prefix of these bytes (copied now), from none to all. */
  prefix(bytes: Uint8Array, what: string): void {
    if (++this.#prefixes > 1) throw new Error("the kit's ExpectedStream allows one prefix run");
    this.#segments.push({ kind: "prefix", bytes: bytes.slice(), what });
  }

  /** Fails unless `data` is exactly the stream described, saying where it first differs. */
  verify(data: Uint8Array): void {
    const whole = this.#segments.reduce((sum, s) => sum + (s.kind === "prefix" ? 0 : length(s)), 0);
    const optional = this.#segments.reduce((sum, s) => sum + (s.kind === "prefix" ? length(s) : 0), 0);
    const range = optional === 0 ? `${whole} bytes` : `${whole} to ${whole + optional} bytes`;
    assert(
      data.length >= whole && data.length <= whole + optional,
      "the bytes the reader got",
      `${range} (the writes that completed, plus at most the aborted write's bytes)`,
      described(`${data.length} bytes`),
    );
    let at = 0;
    for (const segment of this.#segments) {
      const n = segment.kind === "prefix" ? data.length - whole : length(segment);
      const got = data.subarray(at, at + n);
      const what = `${segment.what} (stream bytes ${at} to ${at + n})`;
      if (segment.kind === "pattern") {
        for (let i = 0; i < n; i++) {
          if (got[i] !== patternByte(segment.start + i)) {
            fail(`${what}, byte ${at + i}`, `${patternByte(segment.start + i)}`, got[i]);
          }
        }
      } else {
        bytesEqual(got, segment.bytes.subarray(0, n), what);
      }
      at += n;
    }
  }
}

function length(segment: Segment): number {
  return segment.kind === "pattern" ? segment.length : segment.bytes.length;
}
