/** The hooks a transport's pumps hang on a ByteQueue: onRead (grant credit) and onWrite (take bytes at once). */
import assert from "node:assert/strict";
import { ByteQueue } from "../transport.ts";

Deno.test("onRead reports each take, by read() and by readChunk()", async () => {
  const taken: number[] = [];
  const q = new ByteQueue({ window: 100, onRead: (n) => taken.push(n) });
  await q.write(new Uint8Array(10));
  assert.equal(await q.read(new Uint8Array(4)), 4);
  assert.equal((await q.readChunk())!.length, 6);
  assert.deepEqual(taken, [4, 6]);
});

Deno.test("onWrite is called when bytes are queued and when the writing end closes", async () => {
  let calls = 0;
  const q = new ByteQueue({ window: 100, onWrite: () => calls++ });
  await q.write(new Uint8Array(3)); // a small write
  await q.write(new Uint8Array(2000).subarray(0, 50)); // a bigger one
  assert.equal(calls, 2);
  await q.closeWrite();
  assert.equal(calls, 3);
  // Breaking a half-closed stream drops what waiting writers had not delivered: a pump looks again.
  q.abortWrite(new Error("broken"));
  assert.equal(calls, 4);
});

Deno.test("bytes taken inside onWrite come straight from the writer's buffer, and the writer may reuse it at once", async () => {
  const got: Uint8Array[] = [];
  const q: ByteQueue = new ByteQueue({
    window: 8,
    onWrite: () => {
      for (let chunk; (chunk = q.readChunkNow(4)) != null;) got.push(chunk);
    },
  });
  const buf = new Uint8Array([1, 2, 3, 4, 5, 6]);
  assert.equal(await q.write(buf), 6);
  buf.fill(0); // refilled: what was taken must not change
  assert.deepEqual(got.map((c) => [...c]), [[1, 2, 3, 4], [5, 6]]);
  assert.equal(q.queued, 0);
});

Deno.test("abortWrite calls onWrite, so that a pump sees the end of the stream", () => {
  let ended = false;
  const q: ByteQueue = new ByteQueue({
    onWrite: () => {
      if (q.readChunkNow() === null) ended = true;
    },
  });
  q.abortWrite(new Error("gone"));
  assert.ok(ended);
});
