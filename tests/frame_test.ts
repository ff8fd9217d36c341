import assert from "node:assert/strict";
import {
  type CallOptions,
  type Conn,
  ConnClosedError,
  DEFAULT_MAX_MESSAGE_SIZE,
  frames,
  MAX_MESSAGE_SIZE_LIMIT,
  MessageTooLargeError,
  pipe,
  ProtocolError,
  typedFrames,
} from "../mod.ts";
import { bytes, header, readAll, recordingReads, settle } from "./frame_helpers.ts";
import { Random } from "./fuzz_helpers.ts";
import { WrappedConn } from "./kit_helpers.ts";

const MiB = 1024 * 1024;

Deno.test("frames round-trip messages of many sizes over a pipe, in order", async () => {
  const sizes = [0, 1, 2, 3, 4, 5, 100, 16 * 1024 - 4, 16 * 1024 - 3, 32 * 1024, 64 * 1024 - 1, 64 * 1024];
  sizes.push(64 * 1024 + 1, 200_000, DEFAULT_MAX_MESSAGE_SIZE - 1, DEFAULT_MAX_MESSAGE_SIZE);
  const [a, b] = pipe();
  await using sender = frames(a);
  await using receiver = frames(b);
  const sending = (async () => {
    for (const [i, size] of sizes.entries()) await sender.send(bytes(size, i));
    await sender.closeWrite();
  })();
  for (const [i, size] of sizes.entries()) {
    assert.deepEqual(await receiver.receive(), bytes(size, i), `message ${i} of ${size} bytes`);
  }
  assert.equal(await receiver.receive(), null);
  assert.equal(await receiver.receive(), null, "EOF stays EOF");
  await sending;
});

Deno.test("frames round-trip through the readable and writable streams", async () => {
  const sizes = [0, 1, 64, 1024, 65 * 1024, MiB];
  const [a, b] = pipe();
  const sender = frames(a), receiver = frames(b);
  const sending = ReadableStream.from(sizes.map((size, i) => bytes(size, i))).pipeTo(sender.writable);
  const received = await Array.fromAsync(receiver.readable);
  await sending;
  assert.deepEqual(received, sizes.map((size, i) => bytes(size, i)));
  sender.close();
  receiver.close();
});

Deno.test("many small messages arrive whole when one conn read holds several frames", async () => {
  const [a, b] = pipe({ bufferSize: 1024 * 1024 });
  await using sender = frames(a);
  await using receiver = frames(b);
  const count = 5000;
  for (let i = 0; i < count; i++) await sender.send(bytes(i % 97, i));
  await sender.closeWrite();
  for (let i = 0; i < count; i++) assert.deepEqual(await receiver.receive(), bytes(i % 97, i));
  assert.equal(await receiver.receive(), null);
});

Deno.test("a message split at every byte boundary by the raw conn is reassembled", async () => {
  const message = bytes(300, 5);
  const [a, b] = pipe();
  await using receiver = frames(b);
  const wire = new Uint8Array([...header(300), ...message, ...header(0), ...header(2), 9, 8]);
  for (let i = 0; i < wire.length; i++) await a.write(wire.subarray(i, i + 1));
  await a.closeWrite();
  assert.deepEqual(await receiver.receive(), message);
  assert.deepEqual(await receiver.receive(), new Uint8Array(0));
  assert.deepEqual(await receiver.receive(), new Uint8Array([9, 8]));
  assert.equal(await receiver.receive(), null);
});

Deno.test("sending over maxMessageSize is MessageTooLargeError and writes nothing", async () => {
  const [a, b] = pipe();
  await using sender = frames(a, { maxMessageSize: 100 });
  await sender.send(bytes(100, 1));
  const err = await sender.send(bytes(101, 2)).catch((e) => e);
  assert.ok(err instanceof MessageTooLargeError);
  assert.equal(err.size, 101);
  assert.equal(err.limit, 100);
  await sender.closeWrite();
  assert.equal((await readAll(b)).length, 4 + 100, "only the first frame reached the wire");
  b.close();
});

Deno.test("the default maximum is 3 MiB on both sides", async () => {
  const [a, b] = pipe();
  await using sender = frames(a);
  await using receiver = frames(b);
  assert.equal(sender.maxMessageSize, 3 * MiB);
  await assert.rejects(sender.send(new Uint8Array(3 * MiB + 1)), MessageTooLargeError);
  await a.write(header(3 * MiB + 1));
  const err = await receiver.receive().catch((e) => e);
  assert.ok(err instanceof MessageTooLargeError);
  assert.equal(err.size, 3 * MiB + 1);
});

Deno.test("an incoming length of 4 GiB fails at once from its header, allocating nothing, and closes", async () => {
  const [a, raw] = pipe();
  const reads = recordingReads(raw);
  await using receiver = frames(reads.conn);
  await a.write(header(0xffff_ffff)); // no body follows, and the peer stays open
  const err = await receiver.receive().catch((e) => e);
  assert.ok(err instanceof MessageTooLargeError);
  assert.equal(err.size, 0xffff_ffff);
  assert.ok(reads.largestBuffer <= 64 * 1024, `read into a ${reads.largestBuffer}-byte buffer`);
  await assert.rejects(a.write(new Uint8Array(1)), ConnClosedError, "the conn was closed");
  await assert.rejects(receiver.receive(), MessageTooLargeError, "the error sticks");
  await receiver.closed;
});

Deno.test("a big message is read into a buffer of its own exact size", async () => {
  const [a, raw] = pipe();
  const reads = recordingReads(raw);
  await using sender = frames(a);
  await using receiver = frames(reads.conn);
  const sending = sender.send(bytes(MiB + 3, 1));
  const message = await receiver.receive();
  await sending;
  assert.equal(message!.buffer.byteLength, MiB + 3);
  assert.ok(reads.buffers.has(MiB + 3), "the body was read straight into it");
});

Deno.test("a truncated header at EOF is a ProtocolError and closes the conn", async () => {
  const [a, b] = pipe();
  await using receiver = frames(b);
  await a.write(new Uint8Array([...header(1), 7, 0, 0]));
  await a.closeWrite();
  assert.deepEqual(await receiver.receive(), new Uint8Array([7]));
  const err = await receiver.receive().catch((e) => e);
  assert.ok(err instanceof ProtocolError, String(err));
  assert.match(err.message, /header cut short by EOF: 2 of 4/);
  await assert.rejects(receiver.receive(), ProtocolError);
  await receiver.closed;
});

Deno.test("a truncated body at EOF is a ProtocolError, for small and big frames", async () => {
  for (const size of [10, 200_000]) {
    const [a, b] = pipe();
    await using receiver = frames(b);
    const receiving = receiver.receive().catch((e) => e);
    await a.write(header(size));
    await a.write(bytes(size - 1, 3));
    await a.closeWrite();
    const err = await receiving;
    assert.ok(err instanceof ProtocolError, String(err));
    assert.match(err.message, new RegExp(`${size - 1} of ${size} body bytes`));
    await receiver.closed;
  }
});

Deno.test("a peer that closes mid-message gives a ProtocolError, after the whole messages before it", async () => {
  for (const size of [1000, 100_000]) {
    const [a, b] = pipe();
    await using receiver = frames(b);
    await a.write(new Uint8Array([...header(2), 1, 2]));
    const receiving = receiver.receive();
    const cut = receiver.receive().catch((e) => e);
    await a.write(header(size));
    await a.write(bytes(size / 2, 1));
    a.close(); // the peer vanishes with the frame cut
    assert.deepEqual(await receiving, new Uint8Array([1, 2]));
    const err = await cut;
    assert.ok(err instanceof ProtocolError, String(err));
    assert.match(err.message, new RegExp(`${size / 2} of ${size} body bytes`));
  }
});

Deno.test("an aborted receive mid-message consumed nothing: the next receive gets the whole message", async () => {
  for (const size of [1000, 300_000]) {
    const [a, b] = pipe({ bufferSize: 1024 * 1024 });
    await using receiver = frames(b);
    const message = bytes(size, 4);
    await a.write(header(size));
    await a.write(message.subarray(0, size / 2));
    const controller = new AbortController();
    const receiving = receiver.receive({ signal: controller.signal });
    await settle(); // the receive has taken the first half in
    const reason = new Error("changed my mind");
    controller.abort(reason);
    assert.equal(await receiving.catch((e) => e), reason);
    await a.write(message.subarray(size / 2));
    assert.deepEqual(await receiver.receive(), message);
    a.close();
    assert.equal(await receiver.receive(), null);
  }
});

Deno.test("receive with a deadline rejects with TimeoutError and the conn stays usable", async () => {
  const [a, b] = pipe();
  await using sender = frames(a);
  await using receiver = frames(b);
  const err = await receiver.receive({ signal: AbortSignal.timeout(10) }).catch((e) => e);
  assert.equal(err.name, "TimeoutError");
  await sender.send(bytes(5, 5));
  assert.deepEqual(await receiver.receive(), bytes(5, 5));
});

Deno.test("an already-aborted signal fails send and receive at once, writing nothing", async () => {
  const [a, b] = pipe();
  await using sender = frames(a);
  await using receiver = frames(b);
  const reason = new Error("no");
  const signal = AbortSignal.abort(reason);
  await assert.rejects(sender.send(bytes(5, 1), { signal }), (e) => e === reason);
  await assert.rejects(receiver.receive({ signal }), (e) => e === reason);
  await sender.send(bytes(6, 2));
  assert.deepEqual(await receiver.receive(), bytes(6, 2));
});

Deno.test("concurrent receives are served in call order; an aborted one leaves the line", async () => {
  const [a, b] = pipe();
  await using sender = frames(a);
  await using receiver = frames(b);
  const controller = new AbortController();
  const first = receiver.receive();
  const second = receiver.receive({ signal: controller.signal });
  const third = receiver.receive();
  controller.abort(new Error("second gave up"));
  await assert.rejects(second, /second gave up/);
  await sender.send(bytes(3, 1));
  await sender.send(bytes(4, 2));
  assert.deepEqual(await first, bytes(3, 1));
  assert.deepEqual(await third, bytes(4, 2));
});

Deno.test("concurrent sends never interleave, even when each blocks part way", async () => {
  const [a, b] = pipe({ bufferSize: 1000 });
  await using sender = frames(a);
  await using receiver = frames(b);
  const sizes = [50_000, 10, 70_000, 0, 16 * 1024, 3];
  const sending = Promise.all(sizes.map((size, i) => sender.send(bytes(size, i))));
  for (const [i, size] of sizes.entries()) assert.deepEqual(await receiver.receive(), bytes(size, i));
  await sending;
});

Deno.test("a send aborted while waiting its turn writes nothing and the conn stays usable", async () => {
  const [a, b] = pipe({ bufferSize: 1000 });
  await using sender = frames(a);
  await using receiver = frames(b);
  const first = sender.send(bytes(5000, 1)); // blocks on the window
  const controller = new AbortController();
  const second = sender.send(bytes(10, 2), { signal: controller.signal });
  controller.abort(new Error("not now"));
  await assert.rejects(second, /not now/);
  const third = sender.send(bytes(20, 3));
  assert.deepEqual(await receiver.receive(), bytes(5000, 1));
  assert.deepEqual(await receiver.receive(), bytes(20, 3));
  await Promise.all([first, third]);
});

Deno.test("a send aborted mid-frame rejects at once, yet the peer gets that message whole, then later ones", async () => {
  // A coalesced frame, a staged one, and one several staging pieces long.
  for (const size of [5000, 50_000, 300_000]) {
    const [a, b] = pipe({ bufferSize: 1000 });
    await using sender = frames(a);
    await using receiver = frames(b);
    await sender.send(bytes(7, 1));
    const buffer = bytes(size, 2);
    const controller = new AbortController();
    const sending = sender.send(buffer, { signal: controller.signal });
    await settle(); // the frame's first 1000 bytes are on the wire, the rest waits
    const reason = new Error("deadline");
    controller.abort(reason);
    assert.equal(await sending.catch((e) => e), reason, `${size}: the send rejects with the reason`);
    buffer.fill(0); // the caller's buffer is free at once
    const later = sender.send(bytes(9, 3)); // queues behind the frame being finished
    const gaveUp = new AbortController();
    const neverSent = sender.send(bytes(11, 4), { signal: gaveUp.signal });
    gaveUp.abort(new Error("not any more"));
    await assert.rejects(neverSent, /not any more/);
    const closing = sender.closeWrite(); // after the frame being finished, too
    assert.deepEqual(await receiver.receive(), bytes(7, 1));
    assert.deepEqual(await receiver.receive(), bytes(size, 2), `${size}: the aborted message arrives whole`);
    assert.deepEqual(await receiver.receive(), bytes(9, 3));
    assert.equal(
      await receiver.receive(),
      null,
      `${size}: the message aborted before its turn never went out`,
    );
    await Promise.all([later, closing]);
    // The other direction was never disturbed.
    await receiver.send(bytes(5, 5));
    assert.deepEqual(await sender.receive(), bytes(5, 5));
  }
});

Deno.test("sends aborted at random points: every message arrives whole or not at all, in order", async () => {
  const random = new Random(0x5e4d);
  const [a, b] = pipe({ bufferSize: 1000 });
  await using sender = frames(a);
  await using receiver = frames(b);
  // A slow reader, so that frames stay part way out across turns of the event loop.
  const receiving = (async () => {
    const got: Uint8Array[] = [];
    for (let message; (message = await receiver.receive()) !== null; await settle()) got.push(message);
    return got;
  })();
  const count = 60;
  const sends: Promise<{ size: number; sent: boolean }>[] = [];
  for (let i = 0; i < count; i++) {
    const size = random.pick([1, 10, 900, 5000, 20_000, 70_000, 150_000]);
    const turns = random.below(3); // give up after 1 or 2 turns of the event loop, or never
    sends.push((async () => {
      const controller = new AbortController();
      const sending = sender.send(bytes(size, i), { signal: controller.signal });
      if (turns > 0) {
        for (let t = 0; t < turns; t++) await settle();
        controller.abort(new Error(`gave up on ${i}`));
      }
      return { size, sent: await sending.then(() => true, () => false) };
    })());
    // The next send starts at once, or after the sender has made some progress.
    for (let t = random.below(3); t > 0; t--) await settle();
  }
  const outcomes = (await Promise.all(sends)).map((outcome, i) => ({ i, ...outcome }));
  await sender.closeWrite();
  const received = await receiving;
  // The received messages are a subsequence of the sent ones, each whole.
  let next = 0;
  const delivered = new Set<number>();
  for (const message of received) {
    while (next < count && !sameBytes(message, bytes(outcomes[next].size, next))) next++;
    assert.ok(next < count, `a received message of ${message.length} bytes matches no send, in order`);
    delivered.add(next++);
  }
  const resolved = outcomes.filter((o) => o.sent);
  for (const { i } of resolved) assert.ok(delivered.has(i), `send ${i} resolved but never arrived`);
  const abortedDelivered = outcomes.filter((o) => !o.sent && delivered.has(o.i)).length;
  const abortedDropped = outcomes.filter((o) => !o.sent && !delivered.has(o.i)).length;
  assert.ok(abortedDelivered > 0, "some sends were aborted mid-frame, and still delivered");
  assert.ok(abortedDropped > 0, "some sends were aborted before their turn, and wrote nothing");
});

function sameBytes(x: Uint8Array, y: Uint8Array): boolean {
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

Deno.test("close during a frame finished for an aborted send cuts it, as the docs say", async () => {
  // [window, message size, what the peer sees after the whole message before it]
  const cases = [
    // Part of the frame was queued: the peer reads a frame cut short.
    [100_000, 300_000, /frame cut short by EOF: 65536 of 300000 body bytes/],
    // The whole frame was one write still waiting: none of it got through, a clean EOF.
    [1000, 5000, null],
  ] as const;
  for (const [window, size, seen] of cases) {
    const [a, b] = pipe({ bufferSize: window });
    const sender = frames(a);
    await using receiver = frames(b);
    await sender.send(bytes(7, 1));
    const controller = new AbortController();
    const sending = sender.send(bytes(size, 2), { signal: controller.signal });
    await settle(); // the frame is part way out, the peer not reading
    const reason = new Error("deadline");
    controller.abort(reason);
    assert.equal(await sending.catch((e) => e), reason);
    const queued = sender.send(bytes(1, 3));
    sender.close();
    await assert.rejects(queued, ConnClosedError);
    await assert.rejects(sender.send(bytes(1, 4)), ConnClosedError);
    await sender.closed;
    assert.deepEqual(await receiver.receive(), bytes(7, 1));
    if (seen === null) assert.equal(await receiver.receive(), null);
    else await assert.rejects(receiver.receive(), seen);
  }
});

Deno.test("a sender blocks once the window and the receiver's read buffer are full (bounded memory)", async () => {
  const window = 8 * 1024;
  const [a, b] = pipe({ bufferSize: window });
  await using sender = frames(a);
  await using receiver = frames(b);
  const size = 1024, count = 400; // 400 KiB: far more than the window
  let sent = 0;
  const sending = (async () => {
    for (let i = 0; i < count; i++) {
      await sender.send(bytes(size, i));
      sent++;
    }
  })();
  await settle();
  assert.ok(sent * size <= window, `${sent} messages went out with nobody reading`);
  assert.deepEqual(await receiver.receive(), bytes(size, 0));
  await settle();
  // One receive lets the receiver read at most its 64 KiB buffer ahead.
  const ahead = (sent - 1) * (size + 4);
  assert.ok(ahead <= window + 64 * 1024, `${sent} messages went out after one receive`);
  assert.ok(sent < count, "the sender is still blocked");
  for (let i = 1; i < count; i++) assert.deepEqual(await receiver.receive(), bytes(size, i));
  await sending;
  assert.equal(sent, count);
});

Deno.test("closeWrite waits for earlier sends, refuses later ones, and keeps receiving", async () => {
  const [a, b] = pipe({ bufferSize: 100 });
  await using left = frames(a);
  await using right = frames(b);
  const before = left.send(bytes(1000, 1));
  const closing = left.closeWrite();
  await assert.rejects(left.send(bytes(1, 2)), ConnClosedError);
  assert.deepEqual(await right.receive(), bytes(1000, 1));
  assert.equal(await right.receive(), null);
  await Promise.all([before, closing]);
  await right.send(bytes(9, 3));
  assert.deepEqual(await left.receive(), bytes(9, 3));
});

Deno.test("close rejects pending receives and sends with ConnClosedError", async () => {
  const [a, b] = pipe({ bufferSize: 10 });
  const framed = frames(a);
  const receiving = framed.receive();
  const sending = framed.send(bytes(100, 1));
  const queued = framed.send(bytes(1, 2));
  framed.close();
  framed.close();
  await assert.rejects(receiving, ConnClosedError);
  await assert.rejects(sending, ConnClosedError);
  await assert.rejects(queued, ConnClosedError);
  await assert.rejects(framed.send(bytes(1, 3)), ConnClosedError);
  await framed.closed;
  b.close();
});

Deno.test("after close, receive rejects even with messages already read ahead", async () => {
  const [a, b] = pipe();
  await using sender = frames(a);
  const receiver = frames(b);
  await sender.send(bytes(3, 1));
  await sender.send(bytes(3, 2));
  assert.deepEqual(await receiver.receive(), bytes(3, 1)); // the second is in the read buffer
  receiver.close();
  await assert.rejects(receiver.receive(), ConnClosedError);
});

Deno.test("cancelling the readable closes the conn; the peer's sends then fail", async () => {
  const [a, b] = pipe();
  await using sender = frames(a);
  const receiver = frames(b);
  await receiver.readable.cancel();
  await receiver.closed;
  await assert.rejects(sender.send(bytes(1, 1)), ConnClosedError);
});

Deno.test("the readable stream errors with the ProtocolError of bad input", async () => {
  const [a, b] = pipe();
  const receiver = frames(b);
  await a.write(new Uint8Array([0, 0]));
  await a.closeWrite();
  await assert.rejects(Array.fromAsync(receiver.readable), ProtocolError);
  await receiver.closed;
});

Deno.test("typed frames round-trip types and data, through calls and streams", async () => {
  const [a, b] = pipe();
  await using sender = typedFrames(a);
  await using receiver = typedFrames(b);
  const messages = [
    { type: 1, data: bytes(0, 0) },
    { type: 2, data: bytes(5, 1) },
    { type: 0xffff_ffff, data: bytes(100_000, 2) },
    { type: 42, data: bytes(20, 3) },
  ];
  await sender.send(messages[0]);
  assert.deepEqual(await receiver.receive(), messages[0]);
  const sending = ReadableStream.from(messages.slice(1)).pipeTo(sender.writable);
  assert.deepEqual(await Array.fromAsync(receiver.readable), messages.slice(1));
  await sending;
});

Deno.test("typed frames refuse type 0, negatives, fractions and types over 32 bits with RangeError", async () => {
  const [a, b] = pipe();
  await using sender = typedFrames(a);
  for (const type of [0, -1, 1.5, 2 ** 32, NaN, Infinity]) {
    await assert.rejects(sender.send({ type, data: bytes(1, 1) }), RangeError, `type ${type}`);
  }
  await assert.rejects(sender.send({ type: "1" as unknown as number, data: bytes(1, 1) }), TypeError);
  await assert.rejects(sender.send({ type: 1, data: [1] as unknown as Uint8Array }), TypeError);
  await assert.rejects(sender.send(null as unknown as { type: number; data: Uint8Array }), TypeError);
  await sender.closeWrite();
  assert.equal((await readAll(b)).length, 0, "nothing was written");
  b.close();
});

Deno.test("an incoming typed frame of type 0 is a ProtocolError and closes the conn", async () => {
  const [a, b] = pipe();
  await using receiver = typedFrames(b);
  await a.write(new Uint8Array([...header(1), 0, 0, 0, 0, 1]));
  await assert.rejects(receiver.receive(), /reserved message type 0/);
  await receiver.closed;
  a.close();
});

Deno.test("typed frames enforce maxMessageSize on data bytes, both sides", async () => {
  const [a, b] = pipe();
  await using sender = typedFrames(a, { maxMessageSize: 8 });
  await using receiver = typedFrames(b, { maxMessageSize: 8 });
  await sender.send({ type: 3, data: bytes(8, 1) });
  await assert.rejects(sender.send({ type: 3, data: bytes(9, 1) }), MessageTooLargeError);
  assert.deepEqual(await receiver.receive(), { type: 3, data: bytes(8, 1) });
  await a.write(new Uint8Array([...header(9), 0, 0, 0, 3]));
  await assert.rejects(receiver.receive(), MessageTooLargeError);
});

Deno.test("frames rejects bad arguments with TypeError and RangeError", async () => {
  const [a, b] = pipe();
  assert.throws(() => frames(null as unknown as Conn), TypeError);
  assert.throws(() => frames({} as Conn), TypeError);
  assert.throws(() => frames(a, null as unknown as undefined), /frame options must be an object/);
  assert.throws(() => frames(a, 5 as unknown as undefined), TypeError);
  assert.throws(() => frames(a, { maxMessageSize: 1.5 }), TypeError);
  assert.throws(() => frames(a, { maxMessageSize: "9" as unknown as number }), TypeError);
  assert.throws(() => frames(a, { maxMessageSize: -1 }), RangeError);
  assert.throws(() => frames(a, { maxMessageSize: 2 ** 32 }), RangeError);
  assert.throws(
    () => frames(a, { maxMessageSize: MAX_MESSAGE_SIZE_LIMIT + 1 }),
    /from 0 to 1073741824 bytes/,
  );
  assert.equal(frames(a, { maxMessageSize: MAX_MESSAGE_SIZE_LIMIT }).maxMessageSize, 1024 * MiB);
  await using framed = frames(a, { maxMessageSize: 0 });
  await assert.rejects(framed.send("text" as unknown as Uint8Array), TypeError);
  const notASignal = { signal: {} as AbortSignal };
  await assert.rejects(framed.send(new Uint8Array(0), notASignal), /signal must be an AbortSignal/);
  await assert.rejects(framed.receive(notASignal), /signal must be an AbortSignal/);
  await framed.send(new Uint8Array(0));
  b.close();
});

Deno.test("send lets the caller reuse its buffer once it resolves", async () => {
  const [a, b] = pipe();
  await using sender = frames(a);
  await using receiver = frames(b);
  const buffer = bytes(100, 1);
  await sender.send(buffer);
  buffer.fill(0);
  await sender.send(buffer);
  assert.deepEqual(await receiver.receive(), bytes(100, 1));
  assert.deepEqual(await receiver.receive(), new Uint8Array(100));
});

Deno.test("a writer running ahead has its small frames coalesced into few conn writes, in order and whole", async () => {
  const [a, b] = pipe({ bufferSize: 1024 * 1024 });
  let writes = 0;
  const counting = Object.create(a, {
    write: { value: (p: Uint8Array, o?: CallOptions) => (writes++, a.write(p, o)) },
  }) as Conn;
  const sender = typedFrames(counting);
  const receiver = typedFrames(b);
  const sends: Promise<void>[] = [];
  for (let i = 1; i <= 1000; i++) {
    sends.push(sender.send({ type: i, data: new Uint8Array(i % 50).fill(i & 255) }));
  }
  await Promise.all(sends);
  assert.ok(writes < 50, `${writes} conn writes for 1000 messages`);
  for (let i = 1; i <= 1000; i++) {
    const message = await receiver.receive();
    assert.equal(message!.type, i);
    assert.deepEqual(message!.data, new Uint8Array(i % 50).fill(i & 255));
  }
  a.close(); // the wrapper has none of the pipe's private state
  receiver.close();
});

Deno.test("coalesced sends reject with the conn's error when it closes under them, and none is half delivered", async () => {
  const [a, b] = pipe({ bufferSize: 64 });
  const sender = frames(a);
  const sends = Array.from(
    { length: 20 },
    (_, i) => sender.send(new Uint8Array(40).fill(i)).then(() => "sent", (e) => e),
  );
  await new Promise((r) => setTimeout(r, 10));
  a.close();
  const outcomes = await Promise.all(sends);
  assert.ok(outcomes.some((o) => o instanceof ConnClosedError), "some sends were still waiting");
  const receiver = frames(b);
  let whole = 0;
  for (;;) {
    const message = await receiver.receive().catch((e) => e);
    if (message === null || message instanceof ProtocolError) break;
    assert.deepEqual(message, new Uint8Array(40).fill(whole));
    whole++;
  }
  assert.ok(whole <= outcomes.filter((o) => o === "sent").length + 1);
});

Deno.test("for await over a framed conn yields each message until the peer half-closes", async () => {
  const [a, b] = pipe();
  const sender = frames(a), receiver = frames(b);
  const sending = (async () => {
    for (const word of ["one", "two", "three"]) await sender.send(new TextEncoder().encode(word));
    await sender.closeWrite();
  })();
  const got: string[] = [];
  for await (const message of receiver) got.push(new TextDecoder().decode(message));
  await sending;
  assert.deepEqual(got, ["one", "two", "three"]);
  sender.close();
  receiver.close();
});

Deno.test("for await over a framed conn ends by throwing the ProtocolError of bad input", async () => {
  const [a, b] = pipe();
  const receiver = typedFrames(b);
  await a.write(new Uint8Array(8)); // length 0, type 0: the reserved type
  await assert.rejects(async () => {
    for await (const _ of receiver) throw new Error("no message should come");
  }, ProtocolError);
  a.close();
});

Deno.test("the read buffer starts small, takes 64 KiB once reads fill it, and shrinks back when traffic goes quiet", async () => {
  const [a, b] = pipe({ bufferSize: 256 * 1024 });
  const record = recordingReads(b);
  await using sender = frames(a);
  await using receiver = frames(record.conn);
  // Small messages, one at a time: the first buffer is all it needs.
  for (let i = 0; i < 3; i++) {
    await sender.send(bytes(100, i));
    assert.deepEqual(await receiver.receive(), bytes(100, i));
  }
  assert.deepEqual([...record.buffers], [2048]);
  // A stream that fills it: 64 KiB.
  const stream = Array.from({ length: 150 }, (_, i) => bytes(1000, i));
  await Promise.all(stream.map((m) => sender.send(m)));
  for (const m of stream) assert.deepEqual(await receiver.receive(), m);
  assert.equal(record.largestBuffer, 64 * 1024);
  // A quiet spell of short reads, then a 20 KiB message.
  for (let i = 0; i < 40; i++) {
    await sender.send(bytes(10, i));
    assert.deepEqual(await receiver.receive(), bytes(10, i));
  }
  record.buffers.clear();
  await sender.send(bytes(10, 0));
  assert.deepEqual(await receiver.receive(), bytes(10, 0));
  assert.deepEqual([...record.buffers], [2048], "back to its first size");
  record.buffers.clear();
  const big = bytes(20 * 1024, 7);
  await sender.send(big);
  assert.deepEqual(await receiver.receive(), big);
  // Its first read filled the buffer: the full size at once.
  assert.deepEqual([...record.buffers].sort((x, y) => x - y), [2048, 64 * 1024]);
});

Deno.test("a 10 KiB message trickling in 100 bytes at a time is gathered whole in a buffer grown to fit it", async () => {
  const message = bytes(10 * 1024, 3);
  const [a, b] = pipe();
  const record = recordingReads(b);
  await using receiver = frames(record.conn);
  const wire = new Uint8Array([...header(message.length), ...message]);
  const receiving = receiver.receive();
  for (let i = 0; i < wire.length; i += 100) await a.write(wire.subarray(i, i + 100));
  assert.deepEqual(await receiving, message);
  assert.deepEqual([...record.buffers].sort((x, y) => x - y), [2048, 16 * 1024]);
});

Deno.test("a plain send batched behind a send whose signal aborts as it gets its turn still goes out", async () => {
  const [a, b] = pipe();
  // Runs `next` once the first write on `a` is done, in the turn the lock moves on.
  let next: (() => void) | null = null;
  const conn = new WrappedConn(a, {
    write(inner, p, options) {
      const written = inner.write(p, options);
      const hook = next;
      next = null;
      if (hook) written.then(() => queueMicrotask(hook));
      return written;
    },
  });
  const sender = frames(conn);
  const abort = new AbortController();
  let third: Promise<void> | undefined;
  next = () => {
    // The aborting send has been handed the lock but not resumed: this one joins the batch.
    third = sender.send(new Uint8Array([3]));
    abort.abort(new Error("given up"));
  };
  const first = sender.send(new Uint8Array([1]));
  const second = sender.send(new Uint8Array([2]), { signal: abort.signal });
  await first;
  await assert.rejects(second, /given up/);
  await third;
  const receiver = frames(b);
  assert.deepEqual(await receiver.receive(), new Uint8Array([1]));
  assert.deepEqual(await receiver.receive(), new Uint8Array([3]));
  a.close();
  b.close();
});
