/**
 * A writer that runs ahead in small writes gets few records; a conversation
 * gets one record per message, at once.
 */

import assert from "node:assert/strict";
import { type Conn, pipe } from "../mod.ts";
import { secure } from "../crypto/mod.ts";
import { WrappedConn } from "./kit_helpers.ts";

/** `conn`, counting the writes made on it (one per record written by `secure()`). */
function counting(conn: Conn): { conn: Conn; writes: () => number } {
  let writes = 0;
  const counted = new WrappedConn(conn, {
    write: (inner, p, options) => (writes++, inner.write(p, options)),
  });
  return { conn: counted, writes: () => writes };
}

/** Two ends of `secure(pipe())`, the first one's records counted. */
async function countedPair(cipher: "AESGCM" | "ChaChaPoly") {
  const [x, y] = pipe();
  const under = counting(x);
  const [a, b] = await Promise.all([
    secure(under.conn, { role: "initiator", cipher }),
    secure(y, { role: "responder", cipher }),
  ]);
  return { a, b, under };
}

for (const cipher of ["AESGCM", "ChaChaPoly"] as const) {
  Deno.test(`secure() with ${cipher}: 1000 awaited 64-byte writes leave as a few records, every byte intact`, async () => {
    const { a, b, under } = await countedPair(cipher);
    const before = under.writes();
    const sent = new Uint8Array(64_000).map((_, i) => i * 7);
    const writing = (async () => {
      for (let i = 0; i < 1000; i++) await a.write(sent.subarray(i * 64, (i + 1) * 64));
    })();
    const got = new Uint8Array(sent.length);
    for (let n = 0; n < got.length;) n += (await b.read(got.subarray(n)))!;
    await writing;
    assert.deepEqual(got, sent);
    const records = under.writes() - before;
    assert.ok(records <= 100, `${records} records for 1000 writes`);
    a.close();
    b.close();
  });

  Deno.test(`secure() with ${cipher}: in a conversation each message goes as its own record, at once`, async () => {
    const { a, b, under } = await countedPair(cipher);
    const before = under.writes();
    const one = new Uint8Array(1);
    for (let i = 0; i < 100; i++) {
      await a.write(one);
      assert.equal(await b.read(one), 1);
      await b.write(one);
      assert.equal(await a.read(one), 1);
    }
    assert.equal(under.writes() - before, 100);
    a.close();
    b.close();
  });
}
