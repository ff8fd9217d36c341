/**
 * The ByteQueue hooks that let a transport's pumps move bytes without a copy
 * or a promise per call: onRead (grant credit), onWrite and setOnWrite (take
 * bytes at once), fillReader, whenReadable, state, and errors made only when
 * a call sees them.
 */

import assert from "node:assert/strict";
import { ConnClosedError, pipe } from "../mod.ts";
import { ByteQueue } from "../transport.ts";

const bytes = (...xs: number[]) => new Uint8Array(xs);

/** A source that copies from `from`, as a transport reading its peer's bytes in place would. */
function sourceOf(from: Uint8Array): (into: Uint8Array) => number {
  let at = 0;
  return (into) => {
    const n = Math.min(into.byteLength, from.byteLength - at);
    into.set(from.subarray(at, at + n));
    at += n;
    return n;
  };
}

Deno.test("fillReader fills a waiting read's own buffer from the source, and onRead hears of it", async () => {
  const taken: number[] = [];
  const q = new ByteQueue({ onRead: (n) => taken.push(n) });
  const into = new Uint8Array(8);
  const reading = q.read(into);
  assert.equal(q.fillReader(5, sourceOf(bytes(1, 2, 3, 4, 5, 6, 7))), 5, "at most max");
  assert.equal(await reading, 5);
  assert.deepEqual(into.subarray(0, 5), bytes(1, 2, 3, 4, 5));
  assert.equal(q.queued, 0, "nothing went through the queue");
  assert.deepEqual(taken, [5]);
});

Deno.test("fillReader gives a waiting readChunk a chunk of its own, no bigger than either max", async () => {
  const q = new ByteQueue();
  const reading = q.readChunk({ max: 3 });
  assert.equal(q.fillReader(10, sourceOf(bytes(9, 8, 7, 6))), 3);
  assert.deepEqual(await reading, bytes(9, 8, 7));
  const next = q.readChunk();
  assert.equal(q.fillReader(2, sourceOf(bytes(5, 4, 3))), 2);
  const chunk = (await next)!;
  assert.deepEqual(chunk, bytes(5, 4));
  assert.equal(
    chunk.byteLength,
    chunk.buffer.byteLength,
    "the chunk is all of its buffer: the reader owns it",
  );
});

Deno.test("fillReader takes nothing when no reader waits, when bytes are queued (they come first), or after closeWrite", async () => {
  const q = new ByteQueue();
  let called = 0;
  const source = (into: Uint8Array) => (called++, into.fill(1).byteLength);
  assert.equal(q.fillReader(4, source), 0, "nobody waits");
  await q.write(bytes(1));
  const reading = q.read(new Uint8Array(4));
  assert.equal(await reading, 1);
  await q.write(bytes(2));
  const second = q.read(new Uint8Array(4)); // served from the queue at once
  assert.equal(q.fillReader(4, source), 0, "only a waiting reader is filled");
  assert.equal(await second, 1);
  const waiting = q.read(new Uint8Array(4));
  await q.closeWrite();
  assert.equal(q.fillReader(4, source), 0, "writing ended");
  assert.equal(await waiting, null);
  assert.equal(called, 0, "the source was never asked");
});

Deno.test("fillReader leaves the reader waiting when the source has nothing", async () => {
  const q = new ByteQueue();
  const into = new Uint8Array(4);
  const reading = q.read(into);
  assert.equal(q.fillReader(4, () => 0), 0);
  await q.write(bytes(3, 3));
  assert.equal(await reading, 2, "the write after it still reached the reader");
});

Deno.test("setOnWrite hangs the hook on a queue made without it: what it reads comes from the writer's buffer", () => {
  const q = new ByteQueue({ window: 4 });
  const got: number[] = [];
  q.setOnWrite(() => {
    const into = new Uint8Array(16);
    const n = q.readNow(into);
    if (typeof n === "number") got.push(...into.subarray(0, n));
  });
  // Over the window, yet done at once: the hook read it all in the write's own call.
  assert.equal(q.writeNow(bytes(1, 2, 3, 4, 5, 6)), 6);
  assert.deepEqual(got, [1, 2, 3, 4, 5, 6]);
  assert.equal(q.queued, 0);
});

Deno.test("an onWrite hook that reads only part leaves the rest to be copied or held as usual", async () => {
  const q: ByteQueue = new ByteQueue({
    window: 2,
    onWrite: () => {
      q.readNow(new Uint8Array(1));
    },
  });
  const big = bytes(1, 2, 3, 4, 5);
  const writing = q.writeNow(big); // 4 left: over the window, so the write waits holding `big`
  assert.ok(writing instanceof Promise);
  q.setOnWrite(null);
  const out = new Uint8Array(8);
  assert.equal(await q.read(out), 4);
  assert.deepEqual(out.subarray(0, 4), bytes(2, 3, 4, 5));
  assert.equal(await writing, 5);
});

Deno.test("setOnWrite(null) takes the hook off; a closed reading end calls it no more", async () => {
  let calls = 0;
  const q = new ByteQueue({ onWrite: () => calls++ });
  await q.write(bytes(1));
  q.setOnWrite(null);
  await q.write(bytes(2));
  assert.equal(calls, 1);
  const r = new ByteQueue({ onWrite: () => calls++ });
  r.closeRead(new Error("gone"));
  await r.write(bytes(1)).catch(() => {});
  await r.closeWrite();
  assert.equal(calls, 1, "a write that fails, or closeWrite after the reading end closed, is not a write");
});

Deno.test("whenReadable resolves, taking nothing, once bytes are queued, and rejects once the reading end closed", async () => {
  const q = new ByteQueue();
  const waiting = q.whenReadable();
  await q.write(bytes(7, 7));
  await waiting;
  assert.equal(q.queued, 2, "nothing was taken");
  const gone = new Error("gone");
  q.closeRead(gone);
  await assert.rejects(q.whenReadable(), (err) => err === gone);
});

Deno.test("a whenReadable waiting as the reading end closes resolves, the read error unmade until a read sees it", async () => {
  const q = new ByteQueue();
  const waiting = q.whenReadable();
  const reading = q.read(new Uint8Array(4));
  let made = 0;
  const gone = () => {
    made++;
    return new Error("gone");
  };
  q.closeRead(gone);
  await assert.rejects(reading, /gone/, "a waiting read rejects");
  await waiting;
  assert.equal(made, 1, "made once, for the read");
  const q2 = new ByteQueue();
  const pump = q2.whenReadable();
  let made2 = 0;
  q2.closeRead(() => {
    made2++;
    return new Error("gone");
  });
  await pump;
  assert.equal(made2, 0, "a pump waiting for work costs no error");
  assert.throws(() => q2.readNow(new Uint8Array(1)), /gone/);
  assert.equal(made2, 1);
});

Deno.test("state: open, then writeClosed after closeWrite, readClosed after closeRead", async () => {
  const q = new ByteQueue();
  assert.equal(q.state, "open");
  await q.closeWrite();
  assert.equal(q.state, "writeClosed");
  q.closeRead(new Error("done"));
  assert.equal(q.state, "readClosed");
});

Deno.test("an error given as a function is made when a call first sees it, once, and shared by later calls", async () => {
  let made = 0;
  const q = new ByteQueue();
  q.closeRead(() => new Error(`made ${++made}`));
  assert.equal(made, 0, "closing made no error");
  const first = await q.read(new Uint8Array(1)).catch((e) => e);
  const second = await q.read(new Uint8Array(1)).catch((e) => e);
  assert.equal(made, 1);
  assert.equal(first, second);
  assert.equal(first.message, "made 1");
});

Deno.test("closing a pipe end makes no error until a call sees one, then a ConnClosedError naming the op", async () => {
  const [a, b] = pipe();
  a.close();
  const read = await a.read(new Uint8Array(1)).catch((e) => e);
  const write = await b.write(bytes(1)).catch((e) => e);
  assert.ok(read instanceof ConnClosedError && read.op === "read", `${read}`);
  assert.ok(write instanceof ConnClosedError && write.op === "write", `${write}`);
  assert.match(write.message, /closed by peer/);
  assert.equal(await a.read(new Uint8Array(1)).catch((e) => e), read, "the same error every time");
});

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

Deno.test("reads of every size take the bytes in order across chunks big and small, whole or in part", async () => {
  const sizes = [1, 5, 16, 17, 100, 3000, 2, 15, 4096, 1];
  const total = sizes.reduce((a, b) => a + b, 0);
  const all = Uint8Array.from({ length: total }, (_, i) => (i * 7 + 3) & 0xff);
  for (const readSizes of [[1], [3, 16, 7], [16, 17, 2000], [total]]) {
    const q = new ByteQueue({ window: 2 * total });
    let at = 0;
    for (const size of sizes) {
      await q.write(all.slice(at, at + size));
      at += size;
    }
    const got = new Uint8Array(total);
    let n = 0;
    for (let i = 0; n < total; i++) {
      const size = readSizes[i % readSizes.length];
      // Alternate the waiting read and the sync one: both copy through the same path.
      const k = i % 2 === 0
        ? (await q.read(got.subarray(n, n + size)))!
        : q.readNow(got.subarray(n, n + size))!;
      n += k;
    }
    assert.deepEqual(got, all, `reads of ${readSizes}`);
    assert.equal(q.queued, 0);
  }
});

Deno.test("onReturn gives a lent chunk's buffer back once read() copied all of it out, and never one handed out", async () => {
  const back: ArrayBuffer[] = [];
  const q = new ByteQueue({ window: 100, onReturn: (buffer) => back.push(buffer) });
  const lent = new Uint8Array([1, 2, 3, 4, 5, 6]);
  await q.write(lent, { owned: true, lend: true });
  assert.equal(await q.read(new Uint8Array(4)), 4);
  assert.deepEqual(back, [], "given back before all of it was read");
  assert.equal(await q.read(new Uint8Array(4)), 2);
  assert.deepEqual(back, [lent.buffer]);

  // Taken whole, or its front handed out, a chunk is the reader's: nothing comes back.
  await q.write(new Uint8Array(8), { owned: true, lend: true });
  assert.equal((await q.readChunk())!.length, 8);
  await q.write(new Uint8Array(8), { owned: true, lend: true });
  assert.equal((await q.readChunk({ max: 3 }))!.length, 3);
  assert.equal(await q.read(new Uint8Array(8)), 5);
  // A view into a larger buffer is not lent: its buffer holds bytes that are not its own.
  await q.write(new Uint8Array(16).subarray(0, 8), { owned: true, lend: true });
  assert.equal(await q.read(new Uint8Array(8)), 8);
  assert.equal(back.length, 1);
});

Deno.test("grow() raises the window, letting a writer that waited for room go on; it never shrinks it", async () => {
  const q = new ByteQueue({ window: 4 });
  await q.write(new Uint8Array(4), { owned: true });
  let done = false;
  const waiting = q.write(new Uint8Array(4), { owned: true }).then(() => done = true);
  await Promise.resolve();
  assert.equal(done, false, "a write over the window went on");
  q.grow(8);
  await waiting;
  assert.equal(q.window, 8);
  q.grow(2);
  assert.equal(q.window, 8);
  assert.throws(() => q.grow(8.5), TypeError);
});
