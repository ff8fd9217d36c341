/** Shared helpers of the frame tests, the fuzz test and the bench. */

import type { CallOptions, Conn } from "../mod.ts";

/** `size` bytes of a pattern that differs per `seed`, so mixed-up messages show. */
export function bytes(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return out;
}

/** A 4-byte big-endian frame length, as written on the wire. */
export function header(length: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, length);
  return out;
}

/** Reads a raw conn to EOF. */
export async function readAll(conn: Conn): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(64 * 1024);
  for (let n; (n = await conn.read(buffer)) !== null;) chunks.push(buffer.slice(0, n));
  const out = new Uint8Array(chunks.reduce((sum, c) => sum + c.length, 0));
  let at = 0;
  for (const chunk of chunks) out.set(chunk, (at += chunk.length) - chunk.length);
  return out;
}

/**
 * Lets every pending in-memory transfer happen: pipes move bytes in
 * microtasks, so after a macrotask turn nothing more can move by itself.
 */
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

/** What {@linkcode recordingReads} saw. */
export interface ReadRecord {
  /** The conn to hand to the code under test. */
  conn: Conn;
  /** The sizes of every ArrayBuffer read into. */
  buffers: Set<number>;
  /** The largest of them. */
  largestBuffer: number;
}

/**
 * Passes a real conn through, noting the size of every buffer read into: the
 * buffers a decoder allocates for incoming data.
 */
export function recordingReads(inner: Conn): ReadRecord {
  const record: ReadRecord = {
    conn: {
      get localAddr() {
        return inner.localAddr;
      },
      get remoteAddr() {
        return inner.remoteAddr;
      },
      get readable() {
        return inner.readable;
      },
      get writable() {
        return inner.writable;
      },
      get closed() {
        return inner.closed;
      },
      read(p: Uint8Array, options?: CallOptions) {
        record.buffers.add(p.buffer.byteLength);
        record.largestBuffer = Math.max(record.largestBuffer, p.buffer.byteLength);
        return inner.read(p, options);
      },
      write: (p: Uint8Array, options?: CallOptions) => inner.write(p, options),
      closeWrite: () => inner.closeWrite(),
      close: () => inner.close(),
      [Symbol.asyncDispose]: () => inner[Symbol.asyncDispose](),
      [Symbol.dispose]: () => inner[Symbol.dispose](),
    },
    buffers: new Set(),
    largestBuffer: 0,
  };
  return record;
}
