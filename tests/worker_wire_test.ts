/**
 * The worker transport's wire, checked against a raw MessagePort that plays
 * the peer by hand (see `transports/_port_wire.ts` for the messages).
 */
import assert from "node:assert/strict";
import { ConnClosedError, ProtocolError } from "../mod.ts";
import { within } from "./worker_helpers.ts";
import { BYE, CLOSE, FIN, hello, LEND, rawPeer, settle, total } from "./port_peer_helpers.ts";

Deno.test("each end first posts its hello: the protocol and the window it grants", async () => {
  const peer = rawPeer(4096);
  await peer.until((got) => got.length > 0, "hello");
  assert.deepEqual(peer.got[0], { tether: "port/1", window: 4096, lock: null, revision: 2 });
  await peer.finish();
});

Deno.test("a sender never posts more than the credit the receiver granted", async () => {
  const peer = rawPeer();
  const data = new Uint8Array(10_000).map((_, i) => i);
  const writing = peer.conn.write(data);
  await settle();
  assert.equal(peer.dataBytes().length, 0, "data before the peer's hello");
  peer.post(hello(1000));
  await peer.until(() => total(peer.dataBytes()) >= 1000, "the first 1000 bytes");
  await settle();
  assert.equal(total(peer.dataBytes()), 1000, "posted beyond the granted window");
  peer.post(2500);
  await peer.until(() => total(peer.dataBytes()) >= 3500, "2500 more");
  await settle();
  assert.equal(total(peer.dataBytes()), 3500, "posted beyond the credit granted");
  peer.post(1_000_000);
  await writing;
  await peer.until(() => total(peer.dataBytes()) >= 10_000, "the rest");
  const joined = new Uint8Array(10_000);
  let at = 0;
  for (const chunk of peer.dataBytes()) joined.set(chunk, (at += chunk.byteLength) - chunk.byteLength);
  assert.deepEqual(joined, data);
  await peer.finish();
});

Deno.test("close() sends what is queued at once, beyond credit (one window at most), then FIN and BYE", async () => {
  const peer = rawPeer(8192);
  peer.post(hello(100));
  await peer.conn.write(new Uint8Array(5000).fill(1)); // queued: fits the sender's own window
  await peer.until(() => total(peer.dataBytes()) >= 100, "the credited 100 bytes");
  peer.conn.close();
  await peer.until((got) => got.includes(FIN), "FIN");
  assert.equal(total(peer.dataBytes()), 5000);
  const close = peer.got.indexOf(CLOSE), fin = peer.got.indexOf(FIN);
  assert.ok(close > 0 && close < fin, "CLOSE comes before the flushed bytes and FIN");
  // The peer answers with its own FIN, then BYE: the conn leaves after its own BYE.
  peer.post(FIN);
  await peer.until((got) => got.includes(BYE), "BYE");
  peer.post(BYE);
  await within(peer.conn.closed, 10_000, "closed");
});

Deno.test("a run of small writes leaves in a few posts", async () => {
  const peer = rawPeer();
  peer.post(hello(1 << 20));
  const small = new Uint8Array(64);
  for (let i = 0; i < 1000; i++) await peer.conn.write(small.fill(i & 0xff));
  await peer.until(() => total(peer.dataBytes()) >= 64_000, "64 000 bytes");
  const posts = peer.got.filter((m) => m instanceof Uint8Array || Array.isArray(m)).length;
  assert.ok(posts <= 20, `1000 writes of 64 B took ${posts} posts`);
  const bytes = new Uint8Array(64_000);
  let at = 0;
  for (const chunk of peer.dataBytes()) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  for (let i = 0; i < 1000; i++) {
    assert.ok(bytes.subarray(i * 64, (i + 1) * 64).every((x) => x === (i & 0xff)), `write ${i}`);
  }
  await peer.finish();
});

Deno.test("the reader's progress is granted back half a window at a time, never ahead of it", async () => {
  const peer = rawPeer(4000);
  peer.post(hello(4000));
  peer.post(new Uint8Array(4000));
  const credits = () => peer.got.filter((m): m is number => typeof m === "number" && m > 0);
  assert.equal(await peer.conn.read(new Uint8Array(1999)), 1999);
  await settle();
  assert.deepEqual(credits(), [], "granted before half a window was read");
  assert.equal(await peer.conn.read(new Uint8Array(1)), 1);
  await peer.until(() => credits().length > 0, "a credit");
  assert.deepEqual(credits(), [2000]);
  // The peer may now send 2000 bytes more, and not one more.
  peer.post(new Uint8Array(2000));
  peer.post(new Uint8Array(1));
  await peer.until(() => peer.aborted(), "abort");
  const err = await peer.conn.read(new Uint8Array(8000)).then(async () => {
    const buf = new Uint8Array(8000);
    while (true) await peer.conn.read(buf);
  }).catch((e) => e);
  assert.ok(err instanceof ProtocolError, String(err));
  assert.match(err.message, /credit/);
  await peer.finish();
});

const GARBAGE: [string, unknown[], RegExp][] = [
  ["a string", ["hello"], /not a tether conn/],
  ["an object of another kind", [{ kind: "x" }], /not a tether conn/],
  ["another version of the protocol", [{ tether: "port/9", window: 1, lock: null }], /speaks port\/9/],
  ["a hello with a bad window", [{ tether: "port/1", window: -1, lock: null }], /bad window/],
  ["data before hello", [new Uint8Array(3)], /data before hello/],
  ["credit before hello", [100], /credit before hello/],
  ["a second hello", [hello(10), hello(10)], /second hello/],
  [
    "data beyond the window granted",
    [hello(10), new Uint8Array(65_537)],
    /65537 bytes of data with 65536 bytes of credit/,
  ],
  ["an array holding something else", [hello(10), [new Uint8Array(1), "x"]], /data holding/],
  ["an unknown number", [hello(10), -9], /unexpected number/],
  ["a second end of stream", [hello(10), FIN, FIN], /second end of stream/],
  ["data after end of stream", [hello(10), FIN, new Uint8Array(1)], /after the peer's end of stream/],
  ["goodbye before end of stream", [hello(10), BYE], /goodbye before end of stream/],
  [
    "a hello with a bad revision",
    [{ tether: "port/1", window: 1, lock: null, revision: "2" }],
    /bad revision/,
  ],
  ["lend before hello", [LEND], /lend or keep before hello/],
  ["a return with a bad credit", [hello(10, 2), [0, new ArrayBuffer(8)]], /return with a bad credit/],
  ["a return holding something else", [hello(10, 2), [8, new Uint8Array(8)]], /return holding/],
];

for (const [what, messages, detail] of GARBAGE) {
  Deno.test(`bad input from the peer (${what}) is a ProtocolError that ends the conn`, async () => {
    const peer = rawPeer();
    for (const message of messages) peer.post(message);
    // The conn tells the peer why it gives up.
    await peer.until(() => peer.aborted(), "abort");
    const readErr = await within(
      (async () => {
        const buf = new Uint8Array(64);
        while (true) if ((await peer.conn.read(buf)) === null) return null;
      })().catch((e) => e),
      10_000,
      "read",
    );
    assert.ok(readErr instanceof ProtocolError, `expected ProtocolError, got ${readErr}`);
    assert.match(readErr.message, /^receive worker:port: protocol error/);
    assert.match(readErr.message, detail);
    await assert.rejects(peer.conn.write(new Uint8Array(1)), ConnClosedError);
    await peer.finish();
  });
}

Deno.test("an abort from the peer ends the conn with ConnClosedError, after the bytes that came", async () => {
  const peer = rawPeer();
  peer.post(hello(100));
  peer.post(new Uint8Array([1, 2, 3]));
  peer.post({ tether: "abort", reason: "shutting down" });
  const buf = new Uint8Array(10);
  assert.equal(await peer.conn.read(buf), 3);
  const err = await peer.conn.read(buf).catch((e) => e);
  assert.ok(err instanceof ConnClosedError, String(err));
  assert.match(err.message, /the peer gave up on the conn: shutting down/);
  // The conn is done with the port already: close() has nothing to wait for.
  peer.conn.close();
  await within(peer.conn.closed, 10_000, "closed");
});

Deno.test("a default window grows while the reader keeps up; a given one, or one whose reader lags, does not", async () => {
  const credits = (peer: ReturnType<typeof rawPeer>) =>
    peer.got.filter((m): m is number => typeof m === "number" && m > 0);
  // Default: 64 KiB, and the reader waits for data: half a window read, nothing queued: the window doubles.
  const keeping = rawPeer();
  keeping.post(hello(1 << 20));
  const read = keeping.conn.read(new Uint8Array(65_536));
  keeping.post(new Uint8Array(32_768));
  assert.equal(await read, 32_768);
  await keeping.until(() => credits(keeping).length > 0, "a credit");
  assert.deepEqual(credits(keeping), [32_768 + 65_536], "the read bytes, and the window's growth to 128 KiB");
  await keeping.finish();

  // The same with bufferSize given: the window is fixed.
  const fixed = rawPeer(65_536);
  fixed.post(hello(1 << 20));
  const fixedRead = fixed.conn.read(new Uint8Array(65_536));
  fixed.post(new Uint8Array(32_768));
  assert.equal(await fixedRead, 32_768);
  await fixed.until(() => credits(fixed).length > 0, "a credit");
  assert.deepEqual(credits(fixed), [32_768]);
  await fixed.finish();

  // A reader that lags (bytes still queued when it grants) keeps its window.
  const lagging = rawPeer();
  lagging.post(hello(1 << 20));
  lagging.post(new Uint8Array(65_536));
  await settle();
  assert.equal(await lagging.conn.read(new Uint8Array(32_768)), 32_768);
  await lagging.until(() => credits(lagging).length > 0, "a credit");
  assert.deepEqual(credits(lagging), [32_768]);
  await lagging.finish();
});
