/**
 * The receiving side of a secure conn when things go wrong: what was
 * authenticated is still read, and cancelling the readable reaches the peer.
 */

import assert from "node:assert/strict";
import { type Conn, ConnClosedError, connect, listen, pipe, ProtocolError } from "../mod.ts";
import { secure, type SecureConn } from "../crypto/mod.ts";
import type { SecureQueueConn } from "../crypto/records.ts";
import { type HostCrypto, hostCrypto, setHostCrypto } from "../crypto/_host.ts";
import { closeAll, counting, randomBytes, readExactly, relay, securePair } from "./crypto_helpers.ts";

const text = (s: string) => new TextEncoder().encode(s);
const TAG = 16;

/**
 * Sends `data` and an EOF record through a relay that hands `mangle` the
 * records, and waits until the responder has met the end of what the relay
 * let through and closed its conn underneath, without reading anything.
 */
async function afterFailure(
  data: Uint8Array,
  mangle: (records: Uint8Array[], out: Conn) => Promise<void>,
): Promise<{ responder: SecureConn; records: Uint8Array[]; done: () => Promise<void> }> {
  let records: Uint8Array[] = [];
  const [a, b, relaying] = relay(async (all, out) => {
    records = all.map((r) => r.slice());
    await mangle(all, out);
  });
  const under = watchClose(b);
  const [initiator, responder] = await Promise.all([
    secure(a, { role: "initiator" }),
    secure(under.conn, { role: "responder" }),
  ]);
  await initiator.write(data);
  await initiator.closeWrite();
  // The responder closes the conn underneath when it meets the failure.
  await under.closing;
  const done = async () => {
    await closeAll(initiator, responder);
    await relaying;
  };
  return { responder, records, done };
}

/** `conn` as is, but `closing` settles once its `close()` is called. */
function watchClose(conn: Conn): { conn: Conn; closing: Promise<void> } {
  const { promise, resolve } = Promise.withResolvers<void>();
  const watched = new Proxy(conn, {
    get(target, key) {
      if (key === "close") return () => (resolve(), target.close());
      const value = Reflect.get(target, key);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { conn: watched, closing: promise };
}

/** The plaintext length of a record frame: its body less the tag. */
const plaintextLength = (record: Uint8Array) => record.length - 2 - TAG;

Deno.test("bytes authenticated before the conn underneath is cut off are read, then a ProtocolError", async () => {
  const data = randomBytes(40_000);
  const { responder, records, done } = await afterFailure(data, async (records, out) => {
    await out.write(records[0]); // then the relay cuts the conn: no EOF record
  });
  assert.equal(plaintextLength(records[0]), data.length);
  assert.deepEqual(await readExactly(responder, data.length), data);
  await assert.rejects(responder.read(new Uint8Array(1)), ProtocolError);
  await assert.rejects(responder.read(new Uint8Array(1)), ProtocolError, "it stays failed");
  await assert.rejects(responder.write(text("x")), ConnClosedError);
  await done();
});

Deno.test("bytes authenticated before a tampered record are read, then a ProtocolError", async () => {
  const data = randomBytes(100_000); // two records
  const { responder, records, done } = await afterFailure(data, async (records, out) => {
    records[1][40] ^= 1;
    for (const r of records) await out.write(r);
  });
  const good = plaintextLength(records[0]);
  assert.ok(good > 0 && good < data.length);
  assert.deepEqual(await readExactly(responder, good), data.subarray(0, good));
  await assert.rejects(responder.read(new Uint8Array(1)), ProtocolError);
  await done();
});

Deno.test("bytes authenticated before a record cut short are read, then a ProtocolError", async () => {
  const data = randomBytes(100_000);
  const { responder, records, done } = await afterFailure(data, async (records, out) => {
    await out.write(records[0]);
    await out.write(records[1].subarray(0, 1000));
  });
  const good = plaintextLength(records[0]);
  assert.deepEqual(await readExactly(responder, good), data.subarray(0, good));
  await assert.rejects(responder.read(new Uint8Array(1)), ProtocolError);
  await done();
});

Deno.test("after a receive failure, readable gives the authenticated bytes, then errors with ProtocolError", async () => {
  const data = randomBytes(30_000);
  const { responder, done } = await afterFailure(data, async (records, out) => {
    await out.write(records[0]);
  });
  const got: Uint8Array[] = [];
  const error = await (async () => {
    for await (const chunk of responder.readable) got.push(chunk);
  })().then(() => null, (e) => e);
  assert.ok(error instanceof ProtocolError, `${error}`);
  assert.deepEqual(new Uint8Array(await new Blob(got as Uint8Array<ArrayBuffer>[]).arrayBuffer()), data);
  await done();
});

Deno.test("over pipe(), cancelling a secure conn's readable fails the peer's writes with ConnClosedError; the other way works", async () => {
  const [x, y] = pipe();
  const [a, b] = await Promise.all([secure(x, { role: "initiator" }), secure(y, { role: "responder" })]);
  await b.readable.cancel();
  await assert.rejects(b.read(new Uint8Array(1)), ConnClosedError);
  // The peer's writes fill its window, then fail (a deadline only so a regression cannot hang).
  let error: unknown = null;
  const chunk = new Uint8Array(64 * 1024);
  for (let i = 0; i < 64 && error === null; i++) {
    error = await a.write(chunk, { signal: AbortSignal.timeout(10_000) }).then(() => null, (e) => e);
  }
  assert.ok(error instanceof ConnClosedError, `expected ConnClosedError, got ${error}`);
  // This side still sends, and the peer still reads, to a clean EOF.
  await b.write(text("still here"));
  await b.closeWrite();
  assert.deepEqual(await readExactly(a, 10), text("still here"));
  assert.equal(await a.read(new Uint8Array(1)), null);
  await closeAll(a, b);
});

Deno.test("cancelling the readable of a secure conn whose peer already finished sending is quiet", async () => {
  const [x, y] = pipe();
  const [a, b] = await Promise.all([secure(x, { role: "initiator" }), secure(y, { role: "responder" })]);
  await a.write(text("all"));
  await a.closeWrite();
  assert.deepEqual(await readExactly(b, 3), text("all"));
  assert.equal(await b.read(new Uint8Array(1)), null);
  await b.readable.cancel();
  await b.write(text("reply"));
  await b.closeWrite();
  assert.deepEqual(await readExactly(a, 5), text("reply"));
  assert.equal(await a.read(new Uint8Array(1)), null);
  await Promise.all([a.closed, b.closed]);
  await closeAll(a, b);
});

Deno.test("over a Unix socket, cancelling a secure conn's readable leaves its writes working", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/cancel.sock`;
  const listener = await listen({ transport: "unix", path });
  const dialing = connect({ transport: "unix", path });
  const server = await listener.accept();
  const [a, b] = await Promise.all([
    secure(await dialing, { role: "initiator" }),
    secure(server, { role: "responder" }),
  ]);
  await b.readable.cancel();
  await assert.rejects(b.read(new Uint8Array(1)), ConnClosedError);
  await b.write(text("still here"));
  await b.closeWrite();
  assert.deepEqual(await readExactly(a, 10), text("still here"));
  assert.equal(await a.read(new Uint8Array(1)), null);
  await closeAll(a, b);
  listener.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("secure conns in one isolate, some records sealed at once and some through WebCrypto, each carry their own bytes", async () => {
  // AESGCM seals records over 512 B through WebCrypto, smaller ones at once;
  // every send pump gathers plaintext in one shared buffer.
  const pairs = await Promise.all(
    Array.from({ length: 3 }, () => securePair()),
  );
  const sizes = [10, 5000, 70_000, 1, 1500, 300, 40_000];
  const streams = pairs.flatMap(([x, y], i) =>
    [[x, y], [y, x]].map(([from, to], way) => {
      const data = randomBytes(sizes.reduce((n, s) => n + s, 0));
      const writing = (async () => {
        let at = 0;
        for (const size of sizes) {
          await from.write(data.subarray(at, at + size));
          at += size;
        }
      })();
      return { writing, reading: readExactly(to, data.length), data, name: `pair ${i} way ${way}` };
    })
  );
  for (const s of streams) {
    await s.writing;
    assert.deepEqual(await s.reading, s.data, s.name);
  }
  await closeAll(...pairs.flat());
});

Deno.test("a secure conn goes from bursts through WebCrypto back to records sealed and opened at once, many times over, and every byte arrives in order", async () => {
  // ChaChaPoly's big records go to WebCrypto only without node:crypto (a browser).
  for (const cipher of ["ChaChaPoly", "AESGCM"] as const) {
    await withoutHostFor(cipher, () => burstsAndBack(cipher));
  }
});

/** Runs `run` with `node:crypto` hidden when `cipher` is ChaChaPoly, so that its big records take WebCrypto. */
async function withoutHostFor(cipher: "ChaChaPoly" | "AESGCM", run: () => Promise<void>): Promise<void> {
  if (cipher === "ChaChaPoly") setHostCrypto(null);
  try {
    await run();
  } finally {
    setHostCrypto(undefined);
  }
}

async function burstsAndBack(cipher: "ChaChaPoly" | "AESGCM"): Promise<void> {
  const [x, y] = await securePair({ cipher });
  // Each round: a burst of big writes not awaited one by one (records that
  // need WebCrypto, several in flight), then small writes one at a time
  // (records sealed at once, once the burst's line is written).
  const rounds = 6;
  const chunks: Uint8Array[] = [];
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < 5; i++) chunks.push(randomBytes(3000 + 997 * i));
    for (let i = 0; i < 20; i++) chunks.push(randomBytes(1 + ((r * 31 + i * 7) % 200)));
  }
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const reading = readExactly(y, total);
  let at = 0;
  for (let r = 0; r < rounds; r++) {
    const burst = chunks.slice(at, at + 5);
    await Promise.all(burst.map((c) => x.write(c)));
    at += 5;
    for (const c of chunks.slice(at, at + 20)) await x.write(c);
    at += 20;
  }
  const expected = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    expected.set(c, offset);
    offset += c.length;
  }
  assert.deepEqual(await reading, expected, cipher);
  // And back the other way, after all that.
  await y.write(text("still here"));
  assert.deepEqual(await readExactly(x, 10), text("still here"));
  await closeAll(x, y);
}

Deno.test("closing after the peer hung up, while big records still go through WebCrypto, settles closed", async () => {
  for (const cipher of ["AESGCM", "ChaChaPoly"] as const) {
    await withoutHostFor(cipher, () => hangUpMidBurst(cipher));
  }
});

async function hangUpMidBurst(cipher: "ChaChaPoly" | "AESGCM"): Promise<void> {
  const [mine, theirs] = await securePair({ cipher });
  // A burst of big records: this side's sending is pipelined when the peer goes.
  const burst = randomBytes(64 * 1024);
  const writing = mine.write(burst);
  assert.deepEqual(await readExactly(theirs, burst.length), burst);
  await writing;
  theirs.close();
  assert.equal(await mine.read(new Uint8Array(1)), null, "the peer's clean end");
  // As ipc closes after its peer's end: without an end-of-stream record of its own.
  (mine as SecureQueueConn).closeAfterPeer();
  await Promise.all([mine.closed, theirs.closed]);
}

Deno.test("a record handed to a waiting reader reaches it before the secure conn reads its conn again", async () => {
  const [a, b] = pipe();
  const counted = counting(a);
  const [mine, theirs] = await securePair({}, [counted.conn, b]);
  for (let i = 0; i < 3; i++) {
    const reading = mine.read(new Uint8Array(16));
    await new Promise((r) => setTimeout(r, 0)); // the receive pump waits in its read
    const before = counted.reads;
    await theirs.write(Uint8Array.of(1, 2, 3));
    assert.equal(await reading, 3);
    // The reader had it first: the pump's next native read (its cost) comes after.
    assert.equal(counted.reads, before, `message ${i}`);
  }
  await closeAll(mine, theirs);
});

Deno.test("without node:crypto (a browser), big ChaChaPoly records go through WebCrypto and back, every byte in order", async () => {
  setHostCrypto(null);
  const subtle = crypto.subtle as unknown as Record<string, unknown>;
  const encrypt = crypto.subtle.encrypt;
  let webCalls = 0;
  subtle.encrypt = function (this: SubtleCrypto, ...args: Parameters<SubtleCrypto["encrypt"]>) {
    webCalls++;
    return encrypt.apply(this, args);
  };
  try {
    const [mine, theirs] = await securePair({ cipher: "ChaChaPoly" });
    for (let i = 0; i < 4; i++) {
      const big = randomBytes(100 * 1024), small = randomBytes(40);
      const writing = (async () => {
        await mine.write(big);
        await mine.write(small);
      })();
      assert.deepEqual(await readExactly(theirs, big.length), big);
      assert.deepEqual(await readExactly(theirs, small.length), small);
      await writing;
    }
    await closeAll(mine, theirs);
    assert.ok(webCalls >= 4, `the big records went through WebCrypto (${webCalls} calls)`);
  } finally {
    delete subtle.encrypt;
    setHostCrypto(undefined);
  }
});

Deno.test("with node:crypto, big ChaChaPoly records are sealed and opened by it, not by WebCrypto", async () => {
  let seals = 0, opens = 0;
  setHostCrypto(watchedHost((algorithm, op) => {
    if (algorithm === "chacha20-poly1305") op === "seal" ? seals++ : opens++;
  }));
  try {
    const [mine, theirs] = await securePair({ cipher: "ChaChaPoly" });
    const big = randomBytes(100 * 1024);
    const writing = mine.write(big);
    assert.deepEqual(await readExactly(theirs, big.length), big);
    await writing;
    assert.ok(seals >= 2 && opens >= 2, `${seals} seals, ${opens} opens through node:crypto`);
    await closeAll(mine, theirs);
  } finally {
    setHostCrypto(undefined);
  }
});

Deno.test("a node:crypto without ChaCha20-Poly1305 (Bun's) leaves big ChaChaPoly records to WebCrypto, every byte in order", async () => {
  setHostCrypto(watchedHost((algorithm) => {
    if (algorithm === "chacha20-poly1305") throw new Error(`Unknown cipher: ${algorithm}`);
  }));
  try {
    const [mine, theirs] = await securePair({ cipher: "ChaChaPoly" });
    for (const size of [40, 4096, 100 * 1024]) {
      const data = randomBytes(size);
      const writing = mine.write(data);
      assert.deepEqual(await readExactly(theirs, size), data);
      await writing;
    }
    await closeAll(mine, theirs);
  } finally {
    setHostCrypto(undefined);
  }
});

/** The runtime's `node:crypto`, with `watch` told of (and free to refuse, by throwing) every cipher it makes. */
function watchedHost(watch: (algorithm: string, op: "seal" | "open") => void): HostCrypto {
  const host = hostCrypto()!;
  return {
    ...host,
    createCipheriv(...args: Parameters<HostCrypto["createCipheriv"]>) {
      watch(args[0], "seal");
      return host.createCipheriv(...args);
    },
    createDecipheriv(...args: Parameters<HostCrypto["createDecipheriv"]>) {
      watch(args[0], "open");
      return host.createDecipheriv(...args);
    },
  };
}
