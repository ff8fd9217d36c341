/** Shared helpers of the crypto tests. */

import { type Conn, pipe } from "../mod.ts";
import { secure, type SecureConn, type SecureOptions } from "../crypto/mod.ts";

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

/**
 * A man in the middle that forwards handshake frames as they are and lets
 * `mangle` rewrite the initiator's records (frames after its first), up to
 * and including its EOF record.
 */
export function relay(
  mangle: (records: Uint8Array[], out: Conn) => Promise<void>,
): [Conn, Conn, Promise<void>] {
  const [a, toA] = pipe({ bufferSize: 4 << 20 });
  const [toB, b] = pipe({ bufferSize: 4 << 20 });
  const frames = async function* (conn: Conn) {
    while (true) {
      const head = new Uint8Array(2);
      const n = await conn.read(head);
      if (n === null) return;
      if (n < 2) head.set(await readExactly(conn, 1), 1);
      const len = (head[0] << 8) | head[1];
      const body = len ? await readExactly(conn, len) : new Uint8Array(0);
      const frame = new Uint8Array(2 + len);
      frame.set(head), frame.set(body, 2);
      yield frame;
    }
  };
  const forward = async () => {
    const records: Uint8Array[] = [];
    let first = true;
    for await (const frame of frames(toA)) {
      if (first) await toB.write(frame), first = false;
      else records.push(frame);
      // A 16-byte body is a tag alone: the EOF record, the last the initiator sends.
      if (frame.length === 2 + 16) break;
    }
    await mangle(records, toB);
    toB.close();
  };
  const back = (async () => {
    const buf = new Uint8Array(64 * 1024);
    for (let n; (n = await toB.read(buf).catch(() => null)) !== null;) await toA.write(buf.subarray(0, n));
    toA.close();
  })();
  return [a, b, Promise.all([forward(), back]).then(() => {})];
}

/** The options of one side of a handshake, less its role. */
export type Side = Omit<SecureOptions, "role">;

/** Both sides' handshake outcomes over a pipe, failures included; closes what succeeded. */
export async function bothSides(initiator: Side, responder: Side = initiator, [a, b]: [Conn, Conn] = pipe()) {
  const results = await Promise.allSettled([
    secure(a, { ...initiator, role: "initiator" }),
    secure(b, { ...responder, role: "responder" }),
  ]);
  for (const r of results) if (r.status === "fulfilled") r.value.close();
  await Promise.all(results.map((r) => r.status === "fulfilled" ? r.value.closed : null));
  return results;
}

/** Both ends of a secure conn over `conn`s (a fresh pipe by default), handshaken and open. */
export function securePair(
  side: Side = {},
  [a, b]: [Conn, Conn] = pipe(),
): Promise<[SecureConn, SecureConn]> {
  return Promise.all([secure(a, { ...side, role: "initiator" }), secure(b, { ...side, role: "responder" })]);
}

/**
 * `conn`, with a copy of every write it is given kept in `writes` and its
 * reads counted in `reads`: what a layer above does to the conn under it.
 */
export function counting(conn: Conn): { conn: Conn; writes: Uint8Array[]; readonly reads: number } {
  const writes: Uint8Array[] = [];
  let reads = 0;
  const counted = Object.create(conn) as Conn;
  counted.write = (p, options) => {
    writes.push(p.slice());
    return conn.write(p, options);
  };
  counted.read = (p, options) => {
    reads++;
    return conn.read(p, options);
  };
  counted.close = () => conn.close();
  counted.closeWrite = () => conn.closeWrite();
  return {
    conn: counted,
    writes,
    get reads() {
      return reads;
    },
  };
}

/** Closes every conn and waits until each has settled. */
export async function closeAll(...conns: Conn[]): Promise<void> {
  for (const c of conns) c.close();
  await Promise.all(conns.map((c) => c.closed));
}
