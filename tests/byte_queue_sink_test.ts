/**
 * ByteQueue's synchronous consumer (`setSink`): offered each write's bytes
 * in the writer's call while nothing is queued; what it leaves is queued in
 * order; no reentry; a sink that throws, refuses, or closes the reading end.
 */

import assert from "node:assert/strict";
import { ByteQueue } from "../transport.ts";

const bytes = (...xs: number[]) => new Uint8Array(xs);

/** Reads everything queued in `q` now. */
async function drain(q: ByteQueue): Promise<number[]> {
  const out: number[] = [];
  while (q.queued > 0) {
    const buf = new Uint8Array(64);
    const n = (await q.read(buf))!;
    out.push(...buf.subarray(0, n));
  }
  return out;
}

Deno.test("a sink takes a write's bytes in the writer's own call: nothing is queued, onRead hears of them, onWrite does not", async () => {
  const reads: number[] = [];
  let writes = 0;
  const q = new ByteQueue({ onRead: (n) => reads.push(n), onWrite: () => writes++ });
  const got: number[] = [];
  q.setSink((b) => (got.push(...b), b.byteLength));
  const big = new Uint8Array(100_000).fill(7); // over the window: taken all the same
  assert.equal(q.writeNow(bytes(1, 2, 3)), 3, "done at once, with no promise");
  assert.equal(q.writeNow(big), 100_000);
  assert.equal(await q.write(bytes(4)), 1);
  assert.deepEqual(got.slice(0, 3), [1, 2, 3]);
  assert.equal(got.length, 3 + 100_000 + 1);
  assert.equal(q.queued, 0);
  assert.deepEqual(reads, [3, 100_000, 1]);
  assert.equal(writes, 0, "nothing was queued");
});

Deno.test("what a sink leaves is queued in order, onWrite told, and the writer's buffer is free once the write returns", async () => {
  let writes = 0;
  const q = new ByteQueue({ onWrite: () => writes++ });
  const offered: number[][] = [];
  q.setSink((b) => (offered.push([...b]), Math.min(2, b.byteLength)));
  const buf = bytes(1, 2, 3, 4, 5);
  assert.equal(q.writeNow(buf), 5);
  buf.fill(0); // the queue copied what it kept
  assert.equal(writes, 1);
  assert.equal(q.queued, 3);
  assert.equal(q.writeNow(bytes(6, 7)), 2, "bytes queued: the next write is not offered");
  assert.deepEqual(offered, [[1, 2, 3, 4, 5]]);
  assert.deepEqual(await drain(q), [3, 4, 5, 6, 7]);
  assert.equal(q.writeNow(bytes(8, 9, 10)), 3, "offered again once the queue is empty");
  assert.deepEqual(offered, [[1, 2, 3, 4, 5], [8, 9, 10]]);
  assert.deepEqual(await drain(q), [10]);
});

Deno.test("a sink that refuses leaves the write to the queue's rules: it waits over the window and resolves once read", async () => {
  const q = new ByteQueue({ window: 2 });
  let offers = 0;
  q.setSink(() => (offers++, 0));
  const writing = q.writeNow(bytes(1, 2, 3, 4));
  assert.ok(writing instanceof Promise, "over the window, the write waits");
  assert.deepEqual(await drain(q), [1, 2, 3, 4]);
  assert.equal(await writing, 4);
  assert.equal(offers, 1);
});

Deno.test("a read that waits comes first: the sink is not offered bytes a reader waits for", async () => {
  const q = new ByteQueue();
  let offers = 0;
  q.setSink((b) => (offers++, b.byteLength));
  const into = new Uint8Array(4);
  const reading = q.read(into);
  await q.write(bytes(9, 8));
  assert.equal(await reading, 2);
  assert.deepEqual(into.subarray(0, 2), bytes(9, 8));
  assert.equal(offers, 0);
  q.setSink(null);
  await q.write(bytes(1));
  assert.equal(offers, 0, "setSink(null) took it off");
  assert.deepEqual(await drain(q), [1]);
});

Deno.test("a write that reaches the queue from inside its sink is queued, never offered, behind what the sink leaves", async () => {
  const q = new ByteQueue();
  const offered: number[][] = [];
  let depth = 0;
  q.setSink((b) => {
    depth++;
    offered.push([...b]);
    // As when a frame handled here makes the peer answer into this queue, through others.
    if (offered.length === 1) assert.equal(q.writeNow(bytes(9, 9)), 2);
    depth--;
    return 1;
  });
  assert.equal(q.writeNow(bytes(1, 2, 3)), 3);
  assert.equal(depth, 0);
  assert.deepEqual(offered, [[1, 2, 3]], "the inner write was not offered: no reentry");
  assert.deepEqual(await drain(q), [2, 3, 9, 9], "the rest of the outer write comes first");
});

Deno.test("a sink that throws rejects the write with what it threw, and none of it is queued", async () => {
  const q = new ByteQueue();
  const boom = new Error("boom");
  q.setSink(() => {
    throw boom;
  });
  await assert.rejects(q.write(bytes(1, 2)), (err) => err === boom);
  assert.equal(q.queued, 0);
  q.setSink(() => 3);
  await assert.rejects(q.write(bytes(1, 2)), RangeError, "taking more than offered is a bug, said so");
  q.setSink(null);
  await q.write(bytes(5));
  assert.deepEqual(await drain(q), [5], "the queue goes on working");
});

Deno.test("a sink that closes the reading end: the write resolves, the rest is dropped, later writes fail", async () => {
  const q = new ByteQueue();
  const gone = new Error("reader gone");
  q.setSink(() => {
    q.closeRead(gone, gone);
    return 1;
  });
  assert.equal(await q.write(bytes(1, 2, 3)), 3);
  assert.equal(q.queued, 0);
  assert.equal(q.state, "readClosed");
  await assert.rejects(q.write(bytes(4)), (err) => err === gone);
});

Deno.test("a write with a signal is offered too, and an aborted one is refused before the sink sees it", async () => {
  const q = new ByteQueue();
  let offers = 0;
  q.setSink((b) => (offers++, b.byteLength));
  assert.equal(await q.write(bytes(1), { signal: AbortSignal.timeout(1000) }), 1);
  const aborted = AbortSignal.abort(new Error("late"));
  await assert.rejects(q.write(bytes(2), { signal: aborted }), /late/);
  assert.equal(offers, 1);
});

Deno.test("after closeWrite, a write is refused before the sink sees it; the reader gets EOF", async () => {
  const q = new ByteQueue();
  let offers = 0;
  q.setSink((b) => (offers++, b.byteLength));
  await q.closeWrite();
  await assert.rejects(q.write(bytes(1)));
  assert.equal(offers, 0);
  assert.equal(await q.read(new Uint8Array(1)), null);
});

Deno.test("a lent buffer a sink takes whole goes back to its lender before the credit, as one a reader copies out does", async () => {
  const events: string[] = [];
  const q = new ByteQueue({ onReturn: () => events.push("return"), onRead: (n) => events.push(`read ${n}`) });
  q.setSink((b) => b.byteLength);
  await q.write(new Uint8Array(65536), { owned: true, lend: true });
  assert.deepEqual(events, ["return", "read 65536"]);
  // Taken in part, the buffer is still the queue's (the rest waits there): it does not go back yet.
  q.setSink((b) => b.byteLength - 1);
  await q.write(new Uint8Array(65536), { owned: true, lend: true });
  assert.deepEqual(events, ["return", "read 65536", "read 65535"]);
});
