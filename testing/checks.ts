/**
 * The rules the conformance kit checks, one function each, over a connected
 * pair. They depend on the `Conn` contract alone.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Conn } from "../conn.ts";
import { ConnClosedError } from "../errors.ts";
import { seededRandom } from "./_random.ts";

/**
 * A connected pair: what `a` writes, `b` reads, and back.
 *
 * @example
 * ```ts
 * import { pipe } from "@tether/tether";
 * import type { Pair } from "@tether/tether/testing";
 *
 * const [a, b] = pipe();
 * const pair: Pair = { a, b };
 * pair.a.close();
 * pair.b.close();
 * ```
 */
export interface Pair {
  /** One end. */
  a: Conn;
  /** The other end. */
  b: Conn;
}

/**
 * One rule of the contract, checked on a fresh pair.
 *
 * @example
 * ```ts
 * import { pipe } from "@tether/tether";
 * import type { Check } from "@tether/tether/testing";
 *
 * const echoOnce: Check = {
 *   name: "one byte crosses",
 *   async run({ a, b }) {
 *     await a.write(new Uint8Array([1]));
 *     if ((await b.read(new Uint8Array(1))) !== 1) throw new Error("lost");
 *   },
 * };
 * const [a, b] = pipe();
 * await echoOnce.run({ a, b });
 * ```
 */
export interface Check {
  /** What the check proves. */
  name: string;
  /** Runs the check; rejects if the rule is broken. */
  run(pair: Pair): Promise<void>;
}

/** The byte at position `i` of a test stream: not periodic at any power of two below 16 MiB. */
function patternByte(i: number): number {
  return (i ^ (i >>> 7) ^ (i >>> 15) ^ (i >>> 23)) & 0xff;
}

/** Fills `buf` with the test stream's bytes from position `start`. */
function fillPattern(buf: Uint8Array, start: number): Uint8Array {
  for (let i = 0; i < buf.length; i++) buf[i] = patternByte(start + i);
  return buf;
}

/** Asserts that `bytes` are the test stream's bytes from position `start`. */
function assertPattern(bytes: Uint8Array, start: number, what: string): void {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== patternByte(start + i)) {
      assert.fail(`${what}: byte ${start + i} is ${bytes[i]}, expected ${patternByte(start + i)}`);
    }
  }
}

/** Writes `total` pattern bytes in random chunk sizes, then half-closes. */
async function sendPattern(conn: Conn, total: number, seed: number, maxChunk = 64 * 1024): Promise<void> {
  const next = seededRandom(seed);
  const buf = new Uint8Array(maxChunk);
  for (let sent = 0; sent < total;) {
    const n = Math.min(total - sent, 1 + Math.floor(next() * maxChunk));
    // The same buffer every time: the conn must not keep it after write resolves.
    await conn.write(fillPattern(buf.subarray(0, n), sent));
    sent += n;
  }
  await conn.closeWrite();
}

/** Reads to EOF in random read sizes, checking the pattern; returns the count. */
async function receivePattern(conn: Conn, seed: number, maxRead = 64 * 1024): Promise<number> {
  const next = seededRandom(seed);
  const buf = new Uint8Array(maxRead);
  let received = 0;
  while (true) {
    const size = 1 + Math.floor(next() * maxRead);
    const n = await conn.read(buf.subarray(0, size));
    if (n === null) return received;
    assert.ok(n > 0 && n <= size, `read returned ${n} for a buffer of ${size}`);
    assertPattern(buf.subarray(0, n), received, "received stream");
    received += n;
  }
}

/** Reads exactly `n` bytes, failing at EOF. */
async function readExactly(conn: Conn, n: number): Promise<Uint8Array> {
  const buf = new Uint8Array(n);
  for (let got = 0; got < n;) {
    const k = await conn.read(buf.subarray(got));
    if (k === null) assert.fail(`EOF after ${got} of ${n} bytes`);
    got += k;
  }
  return buf;
}

/** Reads to EOF. */
async function readAll(conn: Conn): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const buf = new Uint8Array(64 * 1024);
  for (let n; (n = await conn.read(buf)) !== null;) parts.push(buf.slice(0, n));
  return concat(parts);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function isTimeout(err: unknown): boolean {
  return err instanceof DOMException && err.name === "TimeoutError";
}

/** Settles after the event loop has had a chance to run I/O. */
function tick(ms = 5): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const MiB = 1024 * 1024;

/**
 * Writes pattern bytes in 64 KiB chunks, nobody reading, until a write has
 * to wait; returns that write, how many bytes the writes before it took, and
 * where the stream stands once it is done.
 */
async function fillUntilBlocked(
  conn: Conn,
): Promise<{ blocked: Promise<number>; written: number; end: number }> {
  let written = 0;
  while (written < 64 * MiB) {
    const chunk = fillPattern(new Uint8Array(64 * 1024), written);
    const write = conn.write(chunk);
    const waited = await Promise.race([write.then(() => false), tick(20).then(() => true)]);
    if (waited) return { blocked: write, written, end: written + chunk.length };
    written += chunk.length;
  }
  assert.fail("64 MiB of writes never waited for the reader");
}
const text = (s: string) => new TextEncoder().encode(s);

/**
 * Every check, in the order the kit runs them.
 *
 * @example
 * ```ts
 * import { pipe } from "@tether/tether";
 * import { checks } from "@tether/tether/testing";
 *
 * // Run one rule alone, outside Deno.test.
 * const halfClose = checks.find((c) => c.name.startsWith("half-close"))!;
 * const [a, b] = pipe();
 * await halfClose.run({ a, b });
 * ```
 */
export const checks: readonly Check[] = [
  {
    name: "basic I/O: 1 MiB each way in random chunk sizes",
    async run({ a, b }) {
      const [, , toB, toA] = await Promise.all([
        sendPattern(a, MiB, 1),
        sendPattern(b, MiB, 2),
        receivePattern(b, 3),
        receivePattern(a, 4),
      ]);
      assert.equal(toB, MiB);
      assert.equal(toA, MiB);
    },
  },
  {
    name: "ping-pong: 500 round trips",
    async run({ a, b }) {
      const echo = (async () => {
        const buf = new Uint8Array(8);
        for (let n; (n = await b.read(buf)) !== null;) await b.write(buf.subarray(0, n));
        await b.closeWrite();
      })();
      const msg = new Uint8Array(8);
      for (let i = 0; i < 500; i++) {
        new DataView(msg.buffer).setFloat64(0, i);
        await a.write(msg);
        const back = await readExactly(a, 8);
        assert.equal(new DataView(back.buffer).getFloat64(0), i);
      }
      await a.closeWrite();
      await echo;
      assert.equal(await a.read(new Uint8Array(1)), null);
    },
  },
  {
    name: "racing reads are served in call order and lose nothing",
    async run({ a, b }) {
      const total = 256 * 1024;
      const sending = sendPattern(a, total, 5, 4096);
      const results: (Uint8Array | null)[] = [];
      const inFlight = new Set<Promise<void>>();
      let eof = false;
      let calls = 0;
      while (!eof || inFlight.size > 0) {
        while (!eof && inFlight.size < 4) {
          const index = calls++;
          const buf = new Uint8Array(1 + (index * 7919) % 3000);
          const p: Promise<void> = b.read(buf).then((n) => {
            results[index] = n === null ? null : buf.subarray(0, n);
            if (n === null) eof = true;
            inFlight.delete(p);
          });
          inFlight.add(p);
        }
        await Promise.race(inFlight);
      }
      await sending;
      const data = concat(results.filter((r): r is Uint8Array => r !== null));
      const firstEof = results.indexOf(null);
      assert.ok(results.slice(firstEof).every((r) => r === null), "a read after EOF got data");
      assert.equal(data.length, total);
      assertPattern(data, 0, "bytes joined in call order");
    },
  },
  {
    name: "racing writes never interleave, and a refilled buffer does not corrupt",
    async run({ a, b }) {
      const writers = 4, writes = 40;
      const reading = readAll(b);
      await Promise.all(Array.from({ length: writers }, async (_, id) => {
        // One buffer per writer, refilled as soon as each write resolves.
        const buf = new Uint8Array(20_000);
        for (let seq = 0; seq < writes; seq++) {
          const len = 8 + ((id * 131 + seq * 977) % (buf.length - 8));
          const view = new DataView(buf.buffer);
          view.setUint16(0, id);
          view.setUint16(2, seq);
          view.setUint32(4, len);
          buf.fill((id * 64 + seq) & 0xff, 8, len);
          await a.write(buf.subarray(0, len));
        }
      }));
      await a.closeWrite();
      const data = await reading;
      const nextSeq = new Array(writers).fill(0);
      for (let at = 0; at < data.length;) {
        const view = new DataView(data.buffer, data.byteOffset + at);
        const id = view.getUint16(0), seq = view.getUint16(2), len = view.getUint32(4);
        assert.ok(id < writers, `bad writer id ${id} at ${at}: writes interleaved`);
        assert.equal(seq, nextSeq[id]++, `writer ${id} out of order at ${at}`);
        const body = data.subarray(at + 8, at + len);
        assert.ok(body.every((x) => x === ((id * 64 + seq) & 0xff)), `write ${id}/${seq} corrupted`);
        at += len;
      }
      assert.deepEqual(nextSeq, new Array(writers).fill(writes));
    },
  },
  {
    name: "read timeout rejects with TimeoutError and consumes nothing",
    async run({ a, b }) {
      const err = await b.read(new Uint8Array(8), { signal: AbortSignal.timeout(30) }).catch((e) => e);
      assert.ok(isTimeout(err), `expected TimeoutError, got ${err}`);
      await a.write(text("after"));
      assert.deepEqual(await readExactly(b, 5), text("after"));
    },
  },
  {
    name: "write timeout on a peer that never reads, bounded, delivers a prefix at most",
    async run({ a, b }) {
      const chunk = new Uint8Array(64 * 1024);
      let sent = 0, timedOut = false;
      while (sent < 64 * MiB) {
        const err = await a.write(fillPattern(chunk, sent), { signal: AbortSignal.timeout(100) }).then(
          () => null,
          (e) => e,
        );
        if (err) {
          assert.ok(isTimeout(err), `expected TimeoutError, got ${err}`);
          timedOut = true;
          break;
        }
        sent += chunk.length;
      }
      assert.ok(timedOut, "64 MiB of writes never waited for the reader");
      // The caller may refill its buffer at once: none of this may reach the peer.
      chunk.fill(0x5a);
      const reading = readAll(b);
      const tail = text("the write after the aborted one");
      await a.write(tail);
      await a.closeWrite();
      const data = await reading;
      const prefix = data.length - sent - tail.length;
      assert.ok(
        prefix >= 0,
        `lost bytes: read ${data.length}, wrote ${sent} + ${tail.length} after the abort`,
      );
      assert.ok(prefix <= chunk.length, "more bytes than written");
      assertPattern(data.subarray(0, sent + prefix), 0, "stream up to the aborted write's prefix");
      assert.deepEqual(data.subarray(sent + prefix), tail, "the write after the aborted one");
    },
  },
  {
    name: "a waiting write aborted behind another: only it is dropped, with the signal's reason",
    async run({ a, b }) {
      const { blocked, end: written } = await fillUntilBlocked(a);
      const controller = new AbortController();
      const reason = new Error("drop this one");
      const second = new Uint8Array(1000).fill(0xb2);
      const third = new Uint8Array(1000).fill(0xc3);
      const aborted = a.write(second, { signal: controller.signal });
      const after = a.write(third);
      await tick();
      controller.abort(reason);
      await assert.rejects(aborted, (e) => e === reason);
      second.fill(0); // refilled at once: must not reach the peer
      const reading = readAll(b);
      await blocked;
      await after;
      await a.closeWrite();
      const data = await reading;
      const prefix = data.length - written - third.length;
      assert.ok(
        prefix >= 0 && prefix <= 1000,
        `read ${data.length} bytes, wrote ${written} + ${third.length}`,
      );
      assertPattern(data.subarray(0, written), 0, "the writes before the aborted one");
      assert.ok(
        data.subarray(written, written + prefix).every((x) => x === 0xb2),
        "the aborted write's prefix",
      );
      assert.deepEqual(data.subarray(written + prefix), third, "the write after the aborted one");
    },
  },
  {
    name: "concurrent writes are served in call order",
    async run({ a, b }) {
      const reading = readAll(b);
      const ids = Array.from({ length: 10 }, (_, i) => i + 1);
      const writes = ids.map((i) => a.write(new Uint8Array(7_000 + i).fill(i)));
      await Promise.all(writes);
      await a.closeWrite();
      const data = await reading;
      let at = 0;
      for (const i of ids) {
        const block = data.subarray(at, at + 7_000 + i);
        assert.ok(block.length === 7_000 + i && block.every((x) => x === i), `write ${i} not in call order`);
        at += block.length;
      }
      assert.equal(at, data.length);
    },
  },
  {
    name: "aborting one of several waiting reads leaves the others in call order",
    async run({ a, b }) {
      const controller = new AbortController();
      const first = new Uint8Array(3), second = new Uint8Array(3), third = new Uint8Array(3);
      const r1 = b.read(first);
      const r2 = b.read(second, { signal: controller.signal });
      const r3 = b.read(third);
      await tick();
      controller.abort(new Error("not this one"));
      await assert.rejects(r2, /not this one/);
      await a.write(text("abcdef"));
      const n1 = await r1;
      assert.ok(n1 !== null && n1 > 0, "the first read got nothing");
      const got = [first.subarray(0, n1)];
      const n3 = await r3;
      if (n3 !== null) got.push(third.subarray(0, n3));
      const rest = n1 + (n3 ?? 0) < 6 ? await readExactly(b, 6 - n1 - (n3 ?? 0)) : new Uint8Array(0);
      assert.deepEqual(concat([...got, rest]), text("abcdef"));
    },
  },
  {
    name: "closed stays pending while the conn is open",
    async run({ a, b }) {
      let settled = false;
      Promise.all([a.closed, b.closed].map((p) => p.then(() => (settled = true))));
      await a.write(text("x"));
      await readExactly(b, 1);
      await tick(10);
      assert.equal(settled, false, "closed settled before anything was closed");
    },
  },
  {
    name: "an already-aborted signal fails at once and moves nothing",
    async run({ a, b }) {
      const reason = new Error("past deadline");
      const signal = AbortSignal.abort(reason);
      await assert.rejects(a.write(text("lost"), { signal }), (e) => e === reason);
      await assert.rejects(b.read(new Uint8Array(4), { signal }), (e) => e === reason);
      await a.write(text("kept"));
      await a.closeWrite();
      assert.deepEqual(await readAll(b), text("kept"));
    },
  },
  {
    name: "a deadline that fires while a read waits rejects it; the bytes go to the next read",
    async run({ a, b }) {
      const controller = new AbortController();
      const reason = new Error("cancelled");
      const pending = b.read(new Uint8Array(8), { signal: controller.signal });
      const next = b.read(new Uint8Array(8));
      await tick();
      controller.abort(reason);
      await assert.rejects(pending, (e) => e === reason);
      await a.write(text("abc"));
      const n = await next;
      assert.equal(n, 3);
    },
  },
  {
    name: "close() rejects pending reads and writes with ConnClosedError",
    async run({ a, b }) {
      const reading = a.read(new Uint8Array(8));
      const { blocked } = await fillUntilBlocked(a);
      a.close();
      await assert.rejects(reading, ConnClosedError);
      await assert.rejects(blocked, ConnClosedError);
      await assert.rejects(a.write(text("x")), ConnClosedError);
      await assert.rejects(a.read(new Uint8Array(1)), ConnClosedError);
      a.close(); // idempotent
      b.close();
    },
  },
  {
    name: "the peer's close gives EOF after the queued bytes, and later writes fail",
    async run({ a, b }) {
      // Small enough to sit queued in any window.
      await a.write(text("bye"));
      a.close();
      assert.deepEqual(await readAll(b), text("bye"));
      assert.equal(await b.read(new Uint8Array(1)), null);
      // Like EPIPE: a socket may take one write before it learns of the close.
      let err: unknown = null;
      for (let i = 0; i < 200 && err === null; i++) {
        err = await b.write(text("anyone?")).then(() => null, (e) => e);
        if (err === null) await tick(5);
      }
      assert.ok(err instanceof ConnClosedError, `expected ConnClosedError, got ${err}`);
    },
  },
  {
    name: "half-close: the peer reads EOF and the other direction keeps working",
    async run({ a, b }) {
      const asking = a.write(text("question")).then(() => a.closeWrite());
      assert.deepEqual(await readAll(b), text("question"));
      await asking;
      await assert.rejects(a.write(text("more")), ConnClosedError);
      const answering = b.write(text("answer")).then(() => b.closeWrite());
      assert.deepEqual(await readAll(a), text("answer"));
      await answering;
      await Promise.all([a.closed, b.closed]);
    },
  },
  {
    name: "closeWrite takes effect after the writes already pending",
    async run({ a, b }) {
      const big = fillPattern(new Uint8Array(512 * 1024), 0);
      const writing = a.write(big);
      const closing = a.closeWrite();
      const data = await readAll(b);
      assert.equal(await writing, big.length);
      await closing;
      assert.equal(data.length, big.length);
      assertPattern(data, 0, "bytes before EOF");
    },
  },
  {
    name: "stream views: writable to readable, BYOB reads, close ends the stream",
    async run({ a, b }) {
      const total = 300 * 1024;
      const source = fillPattern(new Uint8Array(total), 0);
      const writing = (async () => {
        const writer = a.writable.getWriter();
        for (let at = 0; at < total; at += 10_000) {
          await writer.write(source.slice(at, Math.min(total, at + 10_000)));
        }
        await writer.close();
      })();
      const reader = b.readable.getReader({ mode: "byob" });
      let got = 0;
      let buf = new Uint8Array(4096);
      while (true) {
        const { value, done } = await reader.read(buf);
        if (done) break;
        assertPattern(value, got, "BYOB reads");
        got += value.length;
        buf = new Uint8Array(value.buffer);
      }
      await writing;
      assert.equal(got, total);
      reader.releaseLock();
      // The other way, with default readers and a piped source.
      const back = fillPattern(new Uint8Array(100_000), 7);
      const piping = ReadableStream.from([back.slice(0, 50_000), back.slice(50_000)]).pipeTo(b.writable);
      const received = new Uint8Array(await new Response(a.readable).arrayBuffer());
      await piping;
      assert.deepEqual(received, back);
    },
  },
  {
    name: "read() and readable share one ordered stream",
    async run({ a, b }) {
      await a.write(text("one"));
      assert.deepEqual(await readExactly(b, 3), text("one"));
      await a.write(text("two"));
      const reader = b.readable.getReader();
      const { value } = await reader.read();
      assert.deepEqual(value, text("two"));
      reader.releaseLock();
      await a.write(text("three"));
      assert.deepEqual(await readExactly(b, 5), text("three"));
    },
  },
  {
    name: "dispose closes the conn",
    async run({ a, b }) {
      {
        await using _ = a;
      }
      await assert.rejects(a.write(text("x")), ConnClosedError);
      assert.equal(await b.read(new Uint8Array(1)), null);
      b[Symbol.dispose]();
      await Promise.all([a.closed, b.closed]);
    },
  },
  {
    name: "zero-length reads and writes return 0",
    async run({ a, b }) {
      assert.equal(await a.write(new Uint8Array(0)), 0);
      assert.equal(await b.read(new Uint8Array(0)), 0);
      await a.write(text("z"));
      assert.deepEqual(await readExactly(b, 1), text("z"));
    },
  },
  {
    name: "bad arguments get a TypeError",
    async run({ a }) {
      await assert.rejects(a.write("text" as unknown as Uint8Array), TypeError);
      await assert.rejects(a.read(null as unknown as Uint8Array), TypeError);
    },
  },
  {
    name: "addresses name a transport and an address",
    run({ a, b }) {
      for (const addr of [a.localAddr, a.remoteAddr, b.localAddr, b.remoteAddr]) {
        assert.ok(
          typeof addr.transport === "string" && addr.transport.length > 0,
          `expected a transport name, got ${JSON.stringify(addr.transport)}`,
        );
        assert.equal(typeof addr.address, "string");
      }
      assert.equal(a.localAddr.transport, b.remoteAddr.transport);
      return Promise.resolve();
    },
  },
];
