/** Shared helpers of the crypto tests. */

import type { Conn } from "../mod.ts";

/** Reads exactly `n` bytes, failing at EOF. */
export async function readExactly(conn: Conn, n: number): Promise<Uint8Array> {
  const buf = new Uint8Array(n);
  for (let got = 0; got < n;) {
    const k = await conn.read(buf.subarray(got));
    if (k === null) throw new Error(`EOF after ${got} of ${n} bytes`);
    got += k;
  }
  return buf;
}

/** Random bytes of any length (getRandomValues takes 64 KiB at a time). */
export function randomBytes(size: number): Uint8Array {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536));
  return data;
}
