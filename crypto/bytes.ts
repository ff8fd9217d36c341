/**
 * Byte helpers the crypto layer shares.
 *
 * @module
 */

/**
 * Views bytes as WebCrypto's `BufferSource`. TypeScript types a plain
 * `Uint8Array` as possibly over a `SharedArrayBuffer`, which WebCrypto
 * refuses; the buffers here never are.
 */
export function source(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes as Uint8Array<ArrayBuffer>;
}

/** Joins byte arrays into a new one. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
