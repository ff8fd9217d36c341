import assert from "node:assert/strict";
import { ConnClosedError, pipe } from "../mod.ts";
import { ByteQueue } from "../transport.ts";

const bytes = (...xs: number[]) => new Uint8Array(xs);

Deno.test("a write that meets a waiting read copies straight into the reader's buffer", async () => {
  const q = new ByteQueue({ window: 16 });
  const into = new Uint8Array(4);
  const reading = q.read(into);
  assert.equal(await q.write(bytes(1, 2, 3)), 3);
  assert.equal(q.queued, 0, "nothing was queued");
  assert.equal(await reading, 3);
  assert.deepEqual(into.subarray(0, 3), bytes(1, 2, 3));
});

Deno.test("a write that fits the window resolves at once and keeps a copy, not the caller's buffer", async () => {
  const q = new ByteQueue({ window: 16 });
  const buf = bytes(1, 2, 3);
  await q.write(buf);
  buf.fill(9);
  const out = new Uint8Array(3);
  await q.read(out);
  assert.deepEqual(out, bytes(1, 2, 3));
});

Deno.test("queued bytes never exceed the window while the reader is away", async () => {
  const q = new ByteQueue({ window: 1000 });
  const writes: Promise<number>[] = [];
  let resolved = 0;
  for (let i = 0; i < 50; i++) writes.push(q.write(new Uint8Array(100)).then((n) => (resolved++, n)));
  await new Promise((r) => setTimeout(r, 10));
  // The writes past the window wait, holding their own buffers; the queue copied only what fit.
  assert.equal(resolved, 10);
  assert.equal(q.queued, 5000);
  let total = 0;
  const buf = new Uint8Array(333);
  while (total < 5000) total += (await q.read(buf))!;
  assert.equal(total, 5000);
  await Promise.all(writes);
});

Deno.test("a write larger than the window waits until read and then resolves with its length", async () => {
  const [a, b] = pipe({ bufferSize: 8 });
  const writing = a.write(new Uint8Array(100).fill(5));
  const state = await Promise.race([
    writing.then(() => "done"),
    new Promise((r) => setTimeout(r, 10, "waiting")),
  ]);
  assert.equal(state, "waiting");
  const buf = new Uint8Array(100);
  let n = 0;
  while (n < 100) n += (await b.read(buf.subarray(n)))!;
  assert.equal(await writing, 100);
  assert.ok(buf.every((x) => x === 5));
});

Deno.test("an owned chunk crosses without a copy: its buffer is transferred to the reader", async () => {
  const [a, b] = pipe();
  const chunk = bytes(1, 2, 3, 4);
  const writer = a.writable.getWriter();
  await writer.write(chunk);
  const { value } = await b.readable.getReader().read();
  assert.deepEqual(value, bytes(1, 2, 3, 4));
  assert.equal(chunk.buffer.detached, true, "the chunk's buffer moved rather than being copied");
  a.close();
  b.close();
});

Deno.test("a chunk that is a view into a larger buffer is copied, leaving its neighbours intact", async () => {
  const [a, b] = pipe();
  const big = bytes(1, 2, 3, 4, 5, 6);
  const writer = a.writable.getWriter();
  await writer.write(big.subarray(0, 3));
  await writer.write(big.subarray(3));
  await writer.close();
  assert.deepEqual(await new Response(b.readable).bytes(), bytes(1, 2, 3, 4, 5, 6));
  assert.equal(big.buffer.detached, false);
  a.close();
  b.close();
});

Deno.test("small queued chunks reach a stream reader joined into one", async () => {
  const [a, b] = pipe();
  const writer = a.writable.getWriter();
  for (let i = 0; i < 10; i++) await writer.write(bytes(i));
  const { value } = await b.readable.getReader().read();
  assert.deepEqual(value, bytes(0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
  a.close();
  b.close();
});

Deno.test("an owned chunk larger than the window waits until the window drains", async () => {
  const q = new ByteQueue({ window: 10 });
  let done = false;
  const writing = q.write(new Uint8Array(25), { owned: true }).then((n) => (done = true, n));
  const out = new Uint8Array(10);
  await q.read(out);
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(done, false, "15 bytes left is still over the window");
  await q.read(out);
  assert.equal(await writing, 25, "5 bytes left is within it");
  assert.equal(done, true);
});

Deno.test("an aborted write that was half read delivers exactly that prefix, then later writes follow", async () => {
  const [a, b] = pipe({ bufferSize: 4 });
  const controller = new AbortController();
  const writing = a.write(bytes(1, 2, 3, 4, 5, 6, 7, 8), { signal: controller.signal });
  const first = new Uint8Array(3);
  assert.equal(await b.read(first), 3);
  controller.abort(new Error("stop"));
  await assert.rejects(writing, /stop/);
  await a.write(bytes(9));
  await a.closeWrite();
  const rest = new Uint8Array(10);
  const n = await b.read(rest);
  assert.deepEqual(rest.subarray(0, n!), bytes(9));
});

Deno.test("closeWrite then close: closed settles, reads on the peer end with EOF", async () => {
  const [a, b] = pipe();
  await a.closeWrite();
  assert.equal(await b.read(new Uint8Array(1)), null);
  await b.closeWrite();
  assert.equal(await a.read(new Uint8Array(1)), null);
  await Promise.all([a.closed, b.closed]);
});

Deno.test("cancelling the readable stops the peer's writes with ConnClosedError", async () => {
  const [a, b] = pipe();
  await b.readable.cancel();
  await assert.rejects(a.write(bytes(1)), ConnClosedError);
  await assert.rejects(b.read(new Uint8Array(1)), ConnClosedError);
  a.close();
  b.close();
});

Deno.test("aborting the writable closes the conn", async () => {
  const [a, b] = pipe();
  await a.writable.abort(new Error("gave up"));
  await assert.rejects(a.read(new Uint8Array(1)), ConnClosedError);
  assert.equal(await b.read(new Uint8Array(1)), null);
  b.close();
});

Deno.test("a non-Uint8Array chunk on the writable errors the stream with a TypeError", async () => {
  const [a, b] = pipe();
  const writer = a.writable.getWriter();
  await assert.rejects(writer.write("text" as unknown as Uint8Array), TypeError);
  a.close();
  b.close();
});

Deno.test("errors name the address they happened on", async () => {
  const [a] = pipe();
  a.close();
  await assert.rejects(a.write(bytes(1)), (err: ConnClosedError) => {
    assert.equal(err.code, "EPIPE");
    assert.match(err.message, /memory:pipe/);
    return true;
  });
});

Deno.test("ByteQueue rejects a bad window", () => {
  assert.throws(() => new ByteQueue({ window: 0 }), RangeError);
  assert.throws(() => new ByteQueue({ window: 1.5 }), TypeError);
});

Deno.test("a reused copy buffer never changes bytes a reader already took", async () => {
  const q = new ByteQueue({ window: 64 * 1024 });
  const taken: Uint8Array[] = [];
  for (let i = 0; i < 6; i++) {
    await q.write(new Uint8Array(8192).fill(i));
    if (i % 2 === 0) {
      taken.push((await q.readChunk())!);
    } else {
      const out = new Uint8Array(8192);
      await q.read(out);
      taken.push(out);
    }
  }
  taken.forEach((chunk, i) => assert.ok(chunk.every((x) => x === i), `chunk ${i} changed`));
});

Deno.test("abortWrite with endWith: the reader drains the queued bytes, then gets the error instead of EOF", async () => {
  const q = new ByteQueue({ window: 16 });
  await q.write(bytes(1, 2, 3));
  const broken = new Error("cut off");
  q.abortWrite(new Error("no more writes"), broken);
  const out = new Uint8Array(8);
  assert.equal(await q.read(out), 3);
  await assert.rejects(q.read(out), (e) => e === broken);
  await assert.rejects(q.readChunk(), (e) => e === broken);
});

Deno.test("a stream reader of a huge borrowed write gets it in window-sized chunks, not one huge copy", async () => {
  const [a, b] = pipe({ bufferSize: 64 * 1024 });
  const big = new Uint8Array(4 * 1024 * 1024);
  const writing = a.write(big);
  const reader = b.readable.getReader();
  let total = 0;
  while (total < big.length) {
    const { value } = await reader.read();
    assert.ok(value!.length <= 64 * 1024, `a chunk of ${value!.length} bytes`);
    total += value!.length;
  }
  await writing;
  a.close();
  b.close();
});

Deno.test("a signal that is not an AbortSignal is a TypeError that changes nothing", async () => {
  const [a, b] = pipe({ bufferSize: 4 });
  const notASignal = { signal: {} as AbortSignal };
  const buf = new Uint8Array(8).fill(1);
  await assert.rejects(a.write(buf, notASignal), /signal must be an AbortSignal/);
  await assert.rejects(b.read(new Uint8Array(1), notASignal), TypeError);
  // The rejected write queued nothing: the window is whole and the stream empty.
  buf.fill(9);
  await a.write(bytes(7, 7, 7, 7));
  await a.closeWrite();
  const out = new Uint8Array(8);
  assert.equal(await b.read(out), 4);
  assert.deepEqual(out.subarray(0, 4), bytes(7, 7, 7, 7));
  assert.equal(await b.read(out), null);
  const q = new ByteQueue();
  await assert.rejects(q.readChunk(notASignal), TypeError);
});

Deno.test("a chunk whose buffer was already transferred is refused with a TypeError", async () => {
  const [a, b] = pipe();
  const chunk = bytes(1, 2, 3);
  const writer = a.writable.getWriter();
  await writer.write(chunk);
  await b.readable.getReader().read(); // transfers chunk's buffer
  await assert.rejects(writer.write(chunk), /buffer was transferred/);
  a.close();
  b.close();
});

Deno.test("abortWrite with endWith after closeWrite: the reader gets the error, not a clean EOF", async () => {
  const q = new ByteQueue({ window: 4 });
  const pending = q.write(bytes(1, 2, 3, 4, 5, 6));
  const closing = q.closeWrite();
  const broken = new Error("broke after half-close");
  q.abortWrite(new Error("gone"), broken);
  await assert.rejects(pending, /gone/);
  await closing;
  await assert.rejects(q.read(new Uint8Array(8)), (e) => e === broken);
});

Deno.test("small writes share a tail buffer, yet no chunk a reader took ever changes afterwards", async () => {
  const q = new ByteQueue({ window: 64 * 1024 });
  const taken: [number, Uint8Array][] = [];
  const buf = new Uint8Array(700);
  for (let i = 0; i < 400; i++) {
    const size = 1 + (i * 37) % 700;
    await q.write(buf.subarray(0, size).fill(i & 0xff)); // the caller's buffer, refilled every time
    if (i % 3 === 0) {
      for (let chunk; (chunk = q.readChunkNow()) !== undefined && chunk !== null;) taken.push([-1, chunk]);
    } else if (i % 3 === 1) {
      const out = new Uint8Array(500);
      const n = (await q.read(out))!;
      taken.push([-1, out.subarray(0, n)]);
    }
  }
  await q.closeWrite();
  for (let chunk; (chunk = await q.readChunk()) !== null;) taken.push([-1, chunk]);
  // Rebuild the stream and check it against what was written, in order.
  const stream = taken.flatMap(([, c]) => [...c]);
  let at = 0;
  for (let i = 0; i < 400; i++) {
    const size = 1 + (i * 37) % 700;
    for (let j = 0; j < size; j++, at++) assert.equal(stream[at], i & 0xff, `write ${i}, byte ${j}`);
  }
  assert.equal(at, stream.length);
});
