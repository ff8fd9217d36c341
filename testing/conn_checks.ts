/**
 * The rules of the {@linkcode Conn} contract, one check each, over a
 * connected pair. They depend on the contract alone and use no runtime API
 * beyond Web Streams, `AbortSignal` and `setTimeout`.
 *
 * @module
 */

import type { Conn } from "../conn.ts";
import { ConnClosedError } from "../errors.ts";
import {
  assert,
  bytesEqual,
  described,
  equal,
  fail,
  instanceOf,
  isTimeoutError,
  rejects,
  same,
  show,
  timeoutError,
} from "./_assert.ts";
import {
  concat,
  ExpectedStream,
  fillPattern,
  MiB,
  readAll,
  readExactly,
  receivePattern,
  sendPattern,
  text,
  tick,
  writeUntilRefused,
} from "./_bytes.ts";
import type { Check, CheckContext } from "./_runner.ts";

/**
 * A connected pair, the subject of a conn check: what `a` writes, `b`
 * reads, and back.
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
  readonly a: Conn;
  /** The other end. */
  readonly b: Conn;
}

/** The most a conn may take with nobody reading before the kit calls it unbounded. */
const UNBOUNDED = 64 * MiB;

/** Whether `promise` is still pending after `ms`; the timer is cleared either way. */
async function stillPendingAfter(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<true>((resolve) => (timer = setTimeout(() => resolve(true), ms)));
  try {
    return await Promise.race([promise.then(() => false, () => false), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Writes 64 KiB pattern chunks from pattern position `start`, nobody
 * reading, until a write is still pending after `patience` ms; returns it
 * and the bytes the writes took, the pending one included. "Pending" is a
 * guess: under load a slow write looks the same, so callers must accept
 * either outcome of what they do next.
 */
async function fillUntilWaiting(
  conn: Conn,
  context: CheckContext,
  start: number,
  patience: number,
): Promise<{ waiting: Promise<number>; bytes: number }> {
  for (let written = 0; written < UNBOUNDED;) {
    const chunk = fillPattern(new Uint8Array(64 * 1024), start + written);
    const write = context.spawn(conn.write(chunk));
    written += chunk.length;
    if (await stillPendingAfter(write, patience)) return { waiting: write, bytes: written };
    await write;
  }
  fail(
    "writing with nobody reading",
    "a write to wait for the reader (backpressure)",
    described(
      `${UNBOUNDED / MiB} MiB of writes all completed`,
    ),
  );
}

/**
 * Every conn check, in the order the kit runs them.
 *
 * @example
 * ```ts
 * import { connChecks } from "@tether/tether/testing";
 *
 * console.log(connChecks.map((c) => c.id).includes("halfClose")); // true
 * ```
 */
export const connChecks: readonly Check<Pair>[] = [
  {
    id: "basicIO",
    title: "1 MiB each way in random chunk sizes arrives intact, the writer's buffer reused at once",
    async run({ a, b }, context) {
      context.step("send 1 MiB each way while both ends read");
      const [, , toB, toA] = await Promise.all([
        context.spawn(sendPattern(a, MiB, 1)),
        context.spawn(sendPattern(b, MiB, 2)),
        context.spawn(receivePattern(b, 3)),
        context.spawn(receivePattern(a, 4)),
      ]);
      equal(toB, MiB, "bytes b read before EOF");
      equal(toA, MiB, "bytes a read before EOF");
    },
  },
  {
    id: "pingPong",
    title: "500 round trips of 8 bytes, then EOF both ways",
    async run({ a, b }, context) {
      const echo = context.spawn((async () => {
        const buf = new Uint8Array(8);
        for (let n; (n = await b.read(buf)) !== null;) await b.write(buf.subarray(0, n));
        await b.closeWrite();
      })());
      const msg = new Uint8Array(8);
      for (let i = 0; i < 500; i++) {
        context.step(`round trip ${i + 1} of 500`);
        new DataView(msg.buffer).setFloat64(0, i);
        await a.write(msg);
        const back = await readExactly(a, 8);
        equal(new DataView(back.buffer).getFloat64(0), i, `the echo of round trip ${i + 1}`);
      }
      context.step("half-close and read the echo's EOF");
      await a.closeWrite();
      await echo;
      equal(await a.read(new Uint8Array(1)), null, "a read after the echo half-closed");
    },
  },
  {
    id: "racingReads",
    title: "racing reads are served in call order and lose nothing",
    async run({ a, b }, context) {
      const total = 256 * 1024;
      context.step("send 256 KiB while 4 reads at a time race for it");
      const sending = context.spawn(sendPattern(a, total, 5, 4096));
      const results: (Uint8Array | null)[] = [];
      const inFlight = new Set<Promise<void>>();
      let eof = false;
      let calls = 0;
      while (!eof || inFlight.size > 0) {
        while (!eof && inFlight.size < 4) {
          const index = calls++;
          const buf = new Uint8Array(1 + (index * 7919) % 3000);
          const p: Promise<void> = context.spawn(
            b.read(buf).then((n) => {
              results[index] = n === null ? null : buf.subarray(0, n);
              if (n === null) eof = true;
              inFlight.delete(p);
            }),
          );
          inFlight.add(p);
        }
        await Promise.race(inFlight);
      }
      await sending;
      context.step("join the reads in call order");
      const firstEof = results.indexOf(null);
      const late = results.slice(firstEof).findIndex((r) => r !== null);
      assert(
        late < 0,
        `read call ${firstEof + late}`,
        "null, as it came after EOF",
        results[firstEof + late],
      );
      const expected = new ExpectedStream();
      expected.pattern(0, total, "the reads' bytes joined in call order");
      expected.verify(concat(results.filter((r): r is Uint8Array => r !== null)));
    },
  },
  {
    id: "racingWrites",
    title: "racing writes never interleave, and a buffer refilled after each write does not corrupt",
    async run({ a, b }, context) {
      const writers = 4, writes = 40;
      context.step(`${writers} writers race ${writes} writes each while b reads`);
      const reading = context.spawn(readAll(b));
      await Promise.all(Array.from({ length: writers }, (_, id) =>
        context.spawn((async () => {
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
        })())));
      await a.closeWrite();
      const data = await reading;
      context.step("take the stream apart into whole writes");
      const nextSeq = new Array(writers).fill(0);
      for (let at = 0; at < data.length;) {
        const view = new DataView(data.buffer, data.byteOffset + at);
        const id = view.getUint16(0), seq = view.getUint16(2), len = view.getUint32(4);
        assert(id < writers, `the write header at byte ${at}`, `a writer id below ${writers}`, id);
        equal(seq, nextSeq[id]++, `the sequence number of writer ${id}'s write at byte ${at}`);
        const body = data.subarray(at + 8, at + len);
        bytesEqual(body, new Uint8Array(len - 8).fill((id * 64 + seq) & 0xff), `write ${id}/${seq}'s body`);
        at += len;
      }
      bytesEqual(
        Uint8Array.from(nextSeq),
        new Uint8Array(writers).fill(writes),
        "writes received per writer",
      );
    },
  },
  {
    id: "readTimeout",
    title: "a read timeout rejects with TimeoutError and consumes nothing",
    async run({ a, b }, context) {
      context.step("read with a 30 ms deadline, nothing sent");
      await rejects(b.read(new Uint8Array(8), { signal: AbortSignal.timeout(30) }), timeoutError, "the read");
      context.step("send 5 bytes and read them");
      await a.write(text("after"));
      bytesEqual(await readExactly(b, 5), text("after"), "the bytes after the timed-out read");
    },
  },
  {
    id: "writeTimeout",
    title: "a write timeout on a peer that never reads: bounded, and delivers a prefix at most",
    async run({ a, b }, context) {
      context.step("write 64 KiB chunks with a 100 ms deadline each until one times out");
      const chunk = new Uint8Array(64 * 1024);
      let sent = 0;
      let timedOut: unknown = null;
      while (timedOut === null) {
        if (sent >= UNBOUNDED) {
          fail(
            "writes with nobody reading",
            "one to wait and time out",
            described(`${sent} bytes all taken`),
          );
        }
        timedOut = await a.write(fillPattern(chunk, sent), { signal: AbortSignal.timeout(100) }).then(
          () => null,
          (e) => e,
        );
        if (timedOut === null) sent += chunk.length;
      }
      assert(
        isTimeoutError(timedOut),
        "the write that timed out",
        `to reject with ${timeoutError.description}`,
        timedOut,
      );
      const expected = new ExpectedStream();
      expected.pattern(0, sent, "the writes before the timed-out one");
      expected.prefix(chunk, "the timed-out write's prefix");
      // The caller may refill its buffer at once: none of this may reach the peer.
      chunk.fill(0x5a);
      context.step("write once more, then read it all");
      const reading = context.spawn(readAll(b));
      const tail = text("the write after the aborted one");
      await a.write(tail);
      expected.bytes(tail, "the write after the timed-out one");
      await a.closeWrite();
      expected.verify(await reading);
    },
  },
  {
    id: "abortWaitingWrite",
    title: "a waiting write aborted behind another: only it is dropped, with the signal's reason",
    async run({ a, b }, context) {
      const expected = new ExpectedStream();
      const pending: Promise<number>[] = [];
      const reason = new Error("drop this one");
      let position = 0;
      // Whether the fill really blocked shows only afterwards: if the aborted
      // write went through, the writes ahead of it were merely slow. That is
      // legitimate; the stream then holds it whole, and the next attempt
      // fills further, until a write really waits (the window is bounded).
      for (let attempt = 1, patience = 20;; attempt++, patience = Math.min(patience * 2, 1000)) {
        context.step(`attempt ${attempt}: write, nobody reading, until a write waits ${patience} ms`);
        const { waiting, bytes } = await fillUntilWaiting(a, context, position, patience);
        expected.pattern(position, bytes, "the writes before the aborted one");
        position += bytes;
        pending.push(waiting);
        context.step(
          `attempt ${attempt}: queue a write with a signal and one after it, then abort the first`,
        );
        const controller = new AbortController();
        const second = new Uint8Array(1000).fill(0xb2);
        const third = new Uint8Array(1000).fill(0xc3);
        const aborted = context.spawn(a.write(second, { signal: controller.signal }));
        pending.push(context.spawn(a.write(third)));
        await tick();
        controller.abort(reason);
        const outcome = await aborted.then((n) => ({ n }), (err) => ({ err }));
        if ("err" in outcome) {
          if (outcome.err !== reason) {
            fail("the aborted write", `to reject with the signal's reason ${show(reason)}`, outcome.err);
          }
          second.fill(0); // refilled at once: none of this may reach the peer now
          expected.prefix(new Uint8Array(1000).fill(0xb2), "the aborted write's prefix");
          expected.bytes(third, "the write after the aborted one");
          break;
        }
        equal(outcome.n, second.length, "a write that completed before its abort");
        expected.bytes(second, `attempt ${attempt}'s write that completed before its abort`);
        expected.bytes(third, `attempt ${attempt}'s write after it`);
      }
      context.step("read everything; the waiting writes complete");
      const reading = context.spawn(readAll(b));
      for (const write of pending) await write;
      await a.closeWrite();
      expected.verify(await reading);
    },
  },
  {
    id: "writeCallOrder",
    title: "concurrent writes are served in call order",
    async run({ a, b }, context) {
      context.step("start 10 writes at once while b reads");
      const reading = context.spawn(readAll(b));
      const ids = Array.from({ length: 10 }, (_, i) => i + 1);
      await Promise.all(ids.map((i) => context.spawn(a.write(new Uint8Array(7_000 + i).fill(i)))));
      await a.closeWrite();
      const data = await reading;
      bytesEqual(data, concat(ids.map((i) => new Uint8Array(7_000 + i).fill(i))), "the writes in call order");
    },
  },
  {
    id: "abortWaitingRead",
    title: "aborting one of several waiting reads leaves the others in call order",
    async run({ a, b }, context) {
      context.step("start three reads, nothing sent, and abort the second");
      const controller = new AbortController();
      const reason = new Error("not this one");
      const first = new Uint8Array(3), second = new Uint8Array(3), third = new Uint8Array(3);
      const r1 = context.spawn(b.read(first));
      const r2 = context.spawn(b.read(second, { signal: controller.signal }));
      const r3 = context.spawn(b.read(third));
      await tick();
      controller.abort(reason);
      await rejects(r2, same(reason), "the aborted read");
      context.step("send 6 bytes: the first and third reads share them in order");
      await a.write(text("abcdef"));
      const n1 = await r1;
      assert(n1 !== null && n1 > 0, "the first read", "1 to 3 bytes", n1);
      const n3 = (await r3) ?? 0;
      const rest = n1 + n3 < 6 ? await readExactly(b, 6 - n1 - n3) : new Uint8Array(0);
      bytesEqual(
        concat([first.subarray(0, n1), third.subarray(0, n3), rest]),
        text("abcdef"),
        "the bytes read",
      );
    },
  },
  {
    id: "closedPending",
    title: "closed stays pending while the conn is open",
    async run({ a, b }, context) {
      let settled = "neither";
      context.spawn(a.closed.then(() => (settled = "a.closed")));
      context.spawn(b.closed.then(() => (settled = "b.closed")));
      context.step("move a byte and wait 10 ms");
      await a.write(text("x"));
      await readExactly(b, 1);
      await tick(10);
      equal(settled, "neither", "which of closed settled while both ends are open");
    },
  },
  {
    id: "alreadyAborted",
    title: "an already-aborted signal fails at once and moves nothing",
    async run({ a, b }) {
      const reason = new Error("past deadline");
      const signal = AbortSignal.abort(reason);
      await rejects(a.write(text("lost"), { signal }), same(reason), "a write with an aborted signal");
      await rejects(b.read(new Uint8Array(4), { signal }), same(reason), "a read with an aborted signal");
      await a.write(text("kept"));
      await a.closeWrite();
      bytesEqual(await readAll(b), text("kept"), "what b reads");
    },
  },
  {
    id: "readDeadline",
    title: "a deadline that fires while a read waits rejects it; the bytes go to the next read",
    async run({ a, b }, context) {
      context.step("start two reads, abort the first");
      const controller = new AbortController();
      const reason = new Error("cancelled");
      const pending = context.spawn(b.read(new Uint8Array(8), { signal: controller.signal }));
      const next = context.spawn(b.read(new Uint8Array(8)));
      await tick();
      controller.abort(reason);
      await rejects(pending, same(reason), "the aborted read");
      context.step("send 3 bytes: the second read gets them");
      await a.write(text("abc"));
      equal(await next, 3, "the second read's count");
    },
  },
  {
    id: "closePending",
    title: "close() rejects pending reads and writes with ConnClosedError",
    async run({ a, b }, context) {
      context.step("start a read (nothing is sent) and queue 64 MiB of writes (nobody reads)");
      const reading = context.spawn(a.read(new Uint8Array(8)));
      // More than any window holds, so some writes surely wait when close()
      // comes, however the scheduler ran; the ones that completed must be
      // the first ones.
      const chunk = new Uint8Array(64 * 1024);
      let completed = 0;
      const writes: Promise<void>[] = [];
      for (let queued = 0; queued <= UNBOUNDED; queued += chunk.length) {
        writes.push(context.spawn(a.write(chunk).then(() => void completed++)));
      }
      context.step("wait until the writes stop completing");
      for (let before = -1; completed !== before && completed < writes.length;) {
        before = completed;
        await tick(20);
      }
      assert(
        completed < writes.length,
        "writes with nobody reading",
        "some to wait for the reader (backpressure)",
        described(`all ${writes.length} (${UNBOUNDED / MiB} MiB) completed`),
      );
      context.step("close with the read and the writes pending");
      a.close();
      await rejects(reading, instanceOf(ConnClosedError), "the pending read");
      const outcomes = await Promise.allSettled(writes);
      const firstRejected = outcomes.findIndex((o) => o.status === "rejected");
      assert(firstRejected >= 0, "the pending writes", "to reject", described("all completed"));
      outcomes.slice(firstRejected).forEach((o, i) => {
        const what = `write ${firstRejected + i + 1} of ${writes.length} (write ${firstRejected + 1} failed)`;
        if (o.status === "fulfilled") {
          fail(what, "to reject, as a write before it did", described("it completed"));
        }
        assert(o.reason instanceof ConnClosedError, what, "to reject with a ConnClosedError", o.reason);
      });
      context.step("use the closed conn");
      await rejects(a.write(text("x")), instanceOf(ConnClosedError), "a write after close()");
      await rejects(a.read(new Uint8Array(1)), instanceOf(ConnClosedError), "a read after close()");
      a.close(); // idempotent
      b.close();
    },
  },
  {
    id: "peerClose",
    title: "the peer's close gives EOF after the queued bytes, and later writes fail",
    async run({ a, b }, context) {
      context.step("write 3 bytes and close");
      // Small enough to sit queued in any window.
      await a.write(text("bye"));
      a.close();
      context.step("read to EOF");
      bytesEqual(await readAll(b), text("bye"), "what b reads after a closed");
      equal(await b.read(new Uint8Array(1)), null, "a read after EOF");
      context.step("write until a write fails");
      await writeUntilRefused(b, context.signal, "a write to the closed peer");
    },
  },
  {
    id: "halfClose",
    title: "half-close: the peer reads EOF and the other direction keeps working",
    async run({ a, b }, context) {
      context.step("a writes and half-closes; b reads to EOF");
      const asking = context.spawn(a.write(text("question")).then(() => a.closeWrite()));
      bytesEqual(await readAll(b), text("question"), "what b reads before EOF");
      await asking;
      await rejects(a.write(text("more")), instanceOf(ConnClosedError), "a write after closeWrite()");
      context.step("b answers and half-closes; a reads to EOF");
      const answering = context.spawn(b.write(text("answer")).then(() => b.closeWrite()));
      bytesEqual(await readAll(a), text("answer"), "what a reads before EOF");
      await answering;
      context.step("both directions are done: closed settles");
      await Promise.all([a.closed, b.closed]);
    },
  },
  {
    id: "closeWriteOrder",
    title: "closeWrite takes effect after the writes already pending",
    async run({ a, b }, context) {
      context.step("write 512 KiB and half-close without waiting; b reads to EOF");
      const big = fillPattern(new Uint8Array(512 * 1024), 0);
      const writing = context.spawn(a.write(big));
      const closing = context.spawn(a.closeWrite());
      const data = await readAll(b);
      equal(await writing, big.length, "the write's count");
      await closing;
      const expected = new ExpectedStream();
      expected.pattern(0, big.length, "the bytes before EOF");
      expected.verify(data);
    },
  },
  {
    id: "streams",
    title: "stream views: writable to readable, BYOB reads, close ends the stream",
    async run({ a, b }, context) {
      context.step("write 300 KiB through a.writable; read b.readable with a BYOB reader");
      const total = 300 * 1024;
      const source = fillPattern(new Uint8Array(total), 0);
      const writing = context.spawn((async () => {
        const writer = a.writable.getWriter();
        for (let at = 0; at < total; at += 10_000) {
          await writer.write(source.slice(at, Math.min(total, at + 10_000)));
        }
        await writer.close();
      })());
      const reader = b.readable.getReader({ mode: "byob" });
      const parts: Uint8Array[] = [];
      let buf = new Uint8Array(4096);
      while (true) {
        const { value, done } = await reader.read(buf);
        if (done) break;
        parts.push(value.slice());
        buf = new Uint8Array(value.buffer);
      }
      await writing;
      reader.releaseLock();
      bytesEqual(concat(parts), source, "what the BYOB reads got");
      context.step("pipe a stream into b.writable; read a.readable to its end");
      const back = fillPattern(new Uint8Array(100_000), 7);
      const halves = [back.slice(0, 50_000), back.slice(50_000)];
      const piping = context.spawn(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            const next = halves.shift();
            if (next === undefined) controller.close();
            else controller.enqueue(next);
          },
        }).pipeTo(b.writable),
      );
      const received = new Uint8Array(await new Response(a.readable).arrayBuffer());
      await piping;
      bytesEqual(received, back, "what a.readable gave");
    },
  },
  {
    id: "sharedStream",
    title: "read() and readable share one ordered stream",
    async run({ a, b }, context) {
      context.step("read() then a reader then read() again");
      await a.write(text("one"));
      bytesEqual(await readExactly(b, 3), text("one"), "read() before the reader");
      await a.write(text("two"));
      const reader = b.readable.getReader();
      const { value } = await reader.read();
      bytesEqual(value ?? new Uint8Array(0), text("two"), "the reader's chunk");
      reader.releaseLock();
      await a.write(text("three"));
      bytesEqual(await readExactly(b, 5), text("three"), "read() after the reader");
    },
  },
  {
    id: "dispose",
    title: "disposing the conn closes it",
    async run({ a, b }, context) {
      context.step("async-dispose a");
      await a[Symbol.asyncDispose]();
      await rejects(a.write(text("x")), instanceOf(ConnClosedError), "a write after dispose");
      equal(await b.read(new Uint8Array(1)), null, "the peer's read");
      context.step("dispose b; both closed settle");
      b[Symbol.dispose]();
      await Promise.all([a.closed, b.closed]);
    },
  },
  {
    id: "zeroLength",
    title: "zero-length reads and writes return 0",
    async run({ a, b }) {
      equal(await a.write(new Uint8Array(0)), 0, "a zero-length write");
      equal(await b.read(new Uint8Array(0)), 0, "a zero-length read");
      await a.write(text("z"));
      bytesEqual(await readExactly(b, 1), text("z"), "the byte after them");
    },
  },
  {
    id: "badArguments",
    title: "bad arguments and signals get a TypeError and change nothing",
    async run({ a, b }) {
      const typeError = instanceOf(TypeError);
      await rejects(a.write("text" as unknown as Uint8Array), typeError, "write() of a string");
      await rejects(a.read(null as unknown as Uint8Array), typeError, "read() into null");
      const signal = { aborted: true } as unknown as AbortSignal;
      await rejects(
        a.write(text("lost"), { signal }),
        typeError,
        "write() with a signal that is no AbortSignal",
      );
      await rejects(
        b.read(new Uint8Array(4), { signal }),
        typeError,
        "read() with a signal that is no AbortSignal",
      );
      await a.write(text("kept"));
      bytesEqual(await readExactly(b, 4), text("kept"), "the bytes after the bad calls");
    },
  },
  {
    id: "addresses",
    title: "addresses name a transport (any name) and an address, the same on both ends",
    run({ a, b }) {
      const ends = {
        "a.localAddr": a.localAddr,
        "a.remoteAddr": a.remoteAddr,
        "b.localAddr": b.localAddr,
        "b.remoteAddr": b.remoteAddr,
      };
      for (const [name, addr] of Object.entries(ends)) {
        assert(typeof addr === "object" && addr !== null, name, "an Addr object", addr);
        assert(
          typeof addr.transport === "string" && addr.transport !== "",
          `${name}.transport`,
          "a transport name",
          addr.transport,
        );
        assert(typeof addr.address === "string", `${name}.address`, "a string", addr.address);
        if (addr.port !== undefined) {
          assert(
            Number.isInteger(addr.port) && addr.port >= 0 && addr.port <= 65535,
            `${name}.port`,
            "a port number",
            addr.port,
          );
        }
        if (addr.hostname !== undefined) {
          assert(typeof addr.hostname === "string", `${name}.hostname`, "a string", addr.hostname);
        }
      }
      equal(b.remoteAddr.transport, a.localAddr.transport, "b.remoteAddr.transport (a.localAddr's)");
      equal(a.remoteAddr.transport, b.localAddr.transport, "a.remoteAddr.transport (b.localAddr's)");
      return Promise.resolve();
    },
  },
];
