/**
 * Revision 2 of the worker wire: buffers lent and given back, and a send
 * queue that grows with the peer's credit (see `transports/_port_wire.ts`).
 */
import assert from "node:assert/strict";
import { POOL_LIMIT, pooled } from "../_copy_buffers.ts";
import { hello, KEEP, LEND, rawPeer, settle, total } from "./port_peer_helpers.ts";
import { localPair, within } from "./worker_helpers.ts";

const KiB64 = 64 * 1024;
const pattern = (seed: number, size = KiB64) => new Uint8Array(size).map((_, i) => (i * 7 + seed) & 0xff);
/** RETURN messages the conn posted: `[credit, ...buffers]`. */
const returns = (got: unknown[]) =>
  got.filter((m): m is [number, ...ArrayBuffer[]] => Array.isArray(m) && typeof m[0] === "number");
const credits = (got: unknown[]) => got.filter((m): m is number => typeof m === "number" && m > 0);

Deno.test("a writer's 64 KiB copies are lent to a revision 2 peer, and a buffer it gives back is filled again", async () => {
  const peer = rawPeer();
  peer.post(hello(1 << 20, 2));
  await peer.conn.write(pattern(1));
  await peer.until(() => total(peer.dataBytes()) >= KiB64, "the first write");
  const lend = peer.got.indexOf(LEND);
  const data = peer.got.findIndex((m) => m instanceof Uint8Array || Array.isArray(m));
  assert.ok(lend >= 0 && lend < data, "LEND comes before the lent data");

  // Give a buffer back: it goes to the pool, and the next copy is made into it.
  const back = new ArrayBuffer(KiB64);
  new Uint8Array(back).fill(0xee);
  const before = pooled();
  peer.post([KiB64, back], [back]);
  await settle();
  assert.equal(pooled(), before + KiB64, "the buffer given back is in the pool");
  await peer.conn.write(pattern(2));
  await peer.until(() => total(peer.dataBytes()) >= 2 * KiB64, "the second write");
  assert.equal(pooled(), before, "the second copy took it");
  const chunks = peer.dataBytes();
  assert.deepEqual(chunks[chunks.length - 1], pattern(2), "the bytes of the second write, not the old ones");
  await peer.finish();
});

Deno.test("buffers a peer gives back unasked, of any size, never grow the pool past its limit", async () => {
  const peer = rawPeer();
  peer.post(hello(1 << 20, 2));
  const buffers = [
    ...Array.from({ length: 8 }, () => new ArrayBuffer(1 << 20)),
    ...Array.from({ length: 100 }, () => new ArrayBuffer(0)),
    new ArrayBuffer(3000),
    new ArrayBuffer(2 << 20),
  ];
  peer.post([1, ...buffers], buffers);
  await settle();
  assert.ok(pooled() <= POOL_LIMIT, `${pooled()} bytes pooled`);
  assert.ok(!peer.aborted(), "a well-formed return refused");
  await peer.finish();
});

Deno.test("chunks written to writable are not lent (KEEP), and a revision 1 peer never hears of lending", async () => {
  const peer = rawPeer();
  peer.post(hello(1 << 20, 2));
  await settle(); // the hello is in: each write leaves at once, in a post of its own
  await peer.conn.write(pattern(1)); // a copy: lent
  const writer = peer.conn.writable.getWriter();
  await writer.write(pattern(2)); // the writer's own chunk: kept
  writer.releaseLock();
  await peer.until(() => peer.got.includes(KEEP), "KEEP");
  assert.ok(peer.got.indexOf(LEND) < peer.got.indexOf(KEEP));
  await peer.finish();

  const old = rawPeer();
  old.post(hello(1 << 20));
  await old.conn.write(pattern(1));
  await old.until(() => total(old.dataBytes()) >= KiB64, "the write");
  assert.ok(!old.got.includes(LEND) && !old.got.includes(KEEP), "LEND or KEEP sent to a revision 1 peer");
  await old.finish();
});

Deno.test("a reader gives lent buffers back with its credit, once it copied them out; chunks it took whole it keeps", async () => {
  const peer = rawPeer(2 * KiB64); // a fixed window: a credit every 64 KiB read
  peer.post(hello(1 << 20, 2));
  peer.post(LEND);
  const lent = pattern(3);
  peer.post(lent, [lent.buffer]);
  const buf = new Uint8Array(KiB64);
  // Read in two halves: the buffer goes back only once all of it was copied out.
  assert.equal(await peer.conn.read(buf.subarray(0, 32 * 1024)), 32 * 1024);
  assert.equal(await peer.conn.read(buf.subarray(32 * 1024)), 32 * 1024);
  assert.deepEqual(buf, pattern(3));
  await peer.until(() => returns(peer.got).length > 0, "a RETURN");
  const [[credit, ...buffers]] = returns(peer.got);
  assert.equal(credit, KiB64);
  assert.equal(buffers.length, 1);
  assert.ok(buffers[0] instanceof ArrayBuffer && buffers[0].byteLength === KiB64);

  // Taken whole from `readable`, a chunk is the reader's: the credit comes alone.
  const whole = pattern(4);
  peer.post(whole, [whole.buffer]);
  const reader = peer.conn.readable.getReader();
  const { value } = await reader.read();
  assert.deepEqual(value, pattern(4));
  reader.releaseLock();
  await peer.until(() => credits(peer.got).length > 0, "a plain credit");
  assert.equal(returns(peer.got).length, 1, "a chunk handed out whole was given back");

  // After KEEP, nothing goes back.
  peer.post(KEEP);
  const kept = pattern(5);
  peer.post(kept, [kept.buffer]);
  const more = pattern(6);
  peer.post(more, [more.buffer]);
  for (let got = 0; got < 2 * KiB64;) got += (await peer.conn.read(buf))!;
  await peer.until(() => credits(peer.got).length > 1, "a second plain credit");
  assert.equal(returns(peer.got).length, 1, "a kept chunk was given back");
  await peer.finish();
});

Deno.test("a buffer two chunks of one message share is never given back, and both chunks arrive whole", async () => {
  const peer = rawPeer(1 << 20);
  peer.post(hello(1 << 20, 2));
  peer.post(LEND);
  const chunk = pattern(7);
  peer.post([chunk, chunk], [chunk.buffer]);
  const buf = new Uint8Array(2 * KiB64);
  for (let got = 0; got < buf.byteLength;) got += (await peer.conn.read(buf.subarray(got)))!;
  assert.deepEqual(buf.subarray(0, KiB64), pattern(7));
  assert.deepEqual(buf.subarray(KiB64), pattern(7));
  // Read up to half the window, so that a credit goes out.
  const size = 512 * 1024 - 2 * KiB64, rest = pattern(8, size);
  peer.post(rest, [rest.buffer]);
  for (let got = 0; got < size;) got += (await peer.conn.read(buf))!;
  await peer.until(() => credits(peer.got).length > 0, "a credit");
  assert.equal(returns(peer.got).length, 0);
  await peer.finish();
});

Deno.test("the send queue grows with a revision 2 peer's credit: big writes leave several to a post", async () => {
  const peer = rawPeer();
  peer.post(hello(1 << 20, 2));
  await settle();
  for (let i = 0; i < 16; i++) await peer.conn.write(pattern(i));
  await peer.until(() => total(peer.dataBytes()) >= 16 * KiB64, "16 writes");
  const posts = peer.got.filter((m) =>
    m instanceof Uint8Array || (Array.isArray(m) && typeof m[0] !== "number")
  );
  assert.ok(posts.length <= 8, `16 writes of 64 KiB took ${posts.length} posts`);
  peer.dataBytes().forEach((chunk, i) => assert.deepEqual(chunk, pattern(i), `write ${i}`));
  await peer.finish();
});

/** How long a write may wait before the test takes it as held up: generous, for a loaded machine. */
const PROBE_MS = 1000;

Deno.test("a peer that never reads stops a default writer at 64 KiB queued, beyond the 64 KiB it granted", async () => {
  const [a, b] = localPair();
  let taken = 0;
  while (true) {
    const ok = await a.write(pattern(0), { signal: AbortSignal.timeout(PROBE_MS) }).then(
      () => true,
      () => false,
    );
    if (!ok) break;
    taken += KiB64;
    assert.ok(taken <= 4 * KiB64, `${taken} bytes taken with nobody reading`);
  }
  assert.ok(taken >= KiB64, `only ${taken} bytes taken`);
  a.close();
  b.close();
  await within(Promise.all([a.closed, b.closed]), 10_000, "closed");
});

Deno.test("close() delivers all of a grown send queue, beyond credit, to a reader that stopped, then EOF", async () => {
  const [a, b] = localPair();
  // A reader that keeps up grows its window (and so the writer's queue) to 1 MiB.
  const buf = new Uint8Array(KiB64);
  const reading = (async () => {
    let got = 0;
    while (got < 8 << 20) got += (await b.read(buf))!;
  })();
  for (let i = 0; i < 128; i++) await a.write(pattern(i));
  await reading;
  // Now nobody reads: fill the peer's window and our own queue, then close.
  let sent = 0;
  while (true) {
    const ok = await a.write(pattern(sent / KiB64), { signal: AbortSignal.timeout(PROBE_MS) }).then(
      () => true,
      () => false,
    );
    if (!ok) break;
    sent += KiB64;
  }
  assert.ok(sent > (1 << 20) + KiB64, `only ${sent} bytes taken: the send queue did not grow`);
  a.close();
  let received = 0;
  for (let n; (n = await b.read(buf)) !== null;) {
    for (let i = 0; i < n && received + i < sent; i++) {
      const at = received + i;
      if (buf[i] !== ((at % KiB64) * 7 + Math.floor(at / KiB64) & 0xff)) assert.fail(`byte ${at} is wrong`);
    }
    received += n;
  }
  assert.ok(received >= sent && received < sent + KiB64, `${received} bytes received of ${sent} sent`);
  b.close();
  await within(Promise.all([a.closed, b.closed]), 10_000, "closed");
});
