import assert from "node:assert/strict";
import {
  AddrInUseError,
  ConnClosedError,
  connect,
  ConnectionRefusedError,
  ConnError,
  frames,
  listen,
  ListenerClosedError,
  portConn,
} from "../mod.ts";
import { secure } from "../crypto/mod.ts";
import { localPair, readAll, startPeer, text, within } from "./worker_helpers.ts";

Deno.test("an echo server in a worker serves 100 concurrent conns", async () => {
  await using peer = startPeer();
  // All 100 connects arrive at once: a backlog of 100 holds them while the accept loop catches up.
  peer.send({ cmd: "listen-echo", name: "echo", backlog: 100 });
  const sizes = Array.from({ length: 100 }, (_, i) => 1 + ((i * 7919) % 200_000));
  const results = await within(
    Promise.all(sizes.map(async (size, i) => {
      const conn = await connect({ transport: "worker", worker: peer.worker, name: "echo" });
      const data = new Uint8Array(size).map((_, j) => (i + j) & 0xff);
      const reading = readAll(conn);
      await conn.write(data);
      await conn.closeWrite();
      const back = await reading;
      await conn.closed;
      return back.length === size && back.every((x, j) => x === ((i + j) & 0xff));
    })),
    60_000,
    "100 echo conns",
  );
  assert.deepEqual(results, sizes.map(() => true));
});

Deno.test("connect waits for a worker that listens late, and completes from the backlog before accept", async () => {
  await using peer = startPeer();
  // The worker listens only after 300 ms: the connect made now must neither be lost nor hang.
  peer.send({ cmd: "listen-echo", name: "late", delay: 300 });
  const conn = await connect({
    transport: "worker",
    worker: peer.worker,
    name: "late",
    signal: AbortSignal.timeout(10_000),
  });
  await conn.write(text("made it"));
  await conn.closeWrite();
  assert.equal(new TextDecoder().decode(await readAll(conn)), "made it");
  await conn.closed;
});

Deno.test("a connect that waits past its deadline names the operation and the address", async () => {
  await using peer = startPeer(); // never listens
  const err = await connect({
    transport: "worker",
    worker: peer.worker,
    name: "nobody",
    signal: AbortSignal.timeout(100),
  }).catch((e) => e);
  assert.ok(err instanceof ConnError && err.timeout, `expected a timeout, got ${err}`);
  assert.equal(err.code, "ETIMEDOUT");
  assert.match(err.message, /^connect worker:nobody: timed out/);
});

Deno.test("worker connects get the errors of every transport: refused, in use, listener closed", async () => {
  await using peer = startPeer();
  peer.send({ cmd: "listen-echo", name: "echo" });
  assert.deepEqual(await peer.next(), { listening: "echo" });
  // A name nobody listens on, once the worker is up, is refused at once.
  const refused = await connect({ transport: "worker", worker: peer.worker, name: "other" }).catch((e) => e);
  assert.ok(refused instanceof ConnectionRefusedError, String(refused));
  assert.match(refused.message, /^connect worker:other: connection refused/);

  // In the main isolate: a listener for this worker's connects.
  const listener = listen({ transport: "worker", worker: peer.worker, name: "main-side", backlog: 1 });
  assert.throws(
    () => listen({ transport: "worker", worker: peer.worker, name: "main-side" }),
    AddrInUseError,
  );
  // One connect fits the backlog (the worker connects to "parent"); the next is refused as full.
  peer.send({ cmd: "connect-parent", name: "main-side", text: "first" });
  assert.deepEqual(await peer.next(), { connected: "main-side" });
  const first = await listener.accept({ signal: AbortSignal.timeout(10_000) });
  assert.equal(new TextDecoder().decode(await readAll(first)), "first");
  await first.write(text("reply"));
  await first.closeWrite();
  assert.deepEqual(await peer.next(), { read: "reply" });

  listener.close();
  await assert.rejects(listener.accept(), ListenerClosedError);
  // After close the name is free: a new listener takes it, and a connect to a closed one is refused.
  using again = listen({ transport: "worker", worker: peer.worker, name: "main-side" });
  again.close();
});

Deno.test("a backlog of 1 takes one connect before accept and turns the next away as full", async () => {
  await using peer = startPeer();
  using listener = listen({ transport: "worker", worker: peer.worker, name: "b1", backlog: 1 });
  peer.send({ cmd: "connect-parent", name: "b1", text: "one" });
  peer.send({ cmd: "connect-parent", name: "b1", text: "two" });
  // Nobody accepts yet: one connect completes from the backlog, the other is turned away.
  const reports = [await peer.next(), await peer.next()];
  assert.deepEqual(
    reports.map((r) => Object.keys(r)[0]).sort(),
    ["connected", "error"],
    JSON.stringify(reports),
  );
  const error = String(reports.find((r) => "error" in r)!.error);
  assert.match(error, /^BacklogFullError: connect worker:b1: .*backlog/);
  const first = await listener.accept({ signal: AbortSignal.timeout(10_000) });
  assert.ok(["one", "two"].includes(new TextDecoder().decode(await readAll(first))));
  first.close();
  assert.deepEqual(await peer.next(), { read: "" });
});

Deno.test('a worker connects to a listener in the main isolate with worker: "parent"', async () => {
  await using peer = startPeer();
  using listener = listen({ transport: "worker", worker: peer.worker, name: "svc" });
  peer.send({ cmd: "connect-parent", name: "svc", text: "from the worker" });
  assert.deepEqual(await peer.next(), { connected: "svc" });
  const conn = await listener.accept({ signal: AbortSignal.timeout(10_000) });
  assert.equal(conn.remoteAddr.transport, "worker");
  assert.equal(conn.localAddr.address, "svc");
  assert.equal(new TextDecoder().decode(await readAll(conn)), "from the worker");
  await conn.write(text("from main"));
  await conn.closeWrite();
  assert.deepEqual(await peer.next(), { read: "from main" });
  await conn.closed;
});

Deno.test("terminating the worker mid-transfer ends its conns on this side with ConnClosedError", async () => {
  await using peer = startPeer();
  peer.send({ cmd: "listen-echo", name: "echo" });
  const echoing = await connect({ transport: "worker", worker: peer.worker, name: "echo" });
  const reading = echoing.read(new Uint8Array(1));
  await echoing.write(text("x"));
  await reading;
  // Keep a transfer going, then terminate.
  const chunk = new Uint8Array(64 * 1024);
  const writing = (async () => {
    while (true) await echoing.write(chunk);
  })();
  const pendingRead = (async () => {
    const buf = new Uint8Array(64 * 1024);
    while (true) if ((await echoing.read(buf)) === null) return null;
  })();
  await new Promise((r) => setTimeout(r, 50));
  peer.terminate();
  const [writeErr, readErr] = await within(
    Promise.all([writing.catch((e) => e), pendingRead.catch((e) => e)]),
    10_000,
    "conns of a terminated worker",
  );
  for (const err of [writeErr, readErr]) {
    assert.ok(err instanceof ConnClosedError, `expected ConnClosedError, got ${err}`);
    assert.match(err.message, /the peer.s worker ended/);
  }
  echoing.close();
  await within(echoing.closed, 10_000, "closed");
  // The worker is gone for good: connecting through it is refused, not left waiting.
  const err = await within(
    connect({ transport: "worker", worker: peer.worker, name: "echo" }).catch((e) => e),
    10_000,
    "connect to a terminated worker",
  );
  assert.ok(err instanceof ConnectionRefusedError, String(err));
  assert.match(err.message, /the worker ended/);
});

Deno.test("a worker that closes itself ends its conns too", async () => {
  await using peer = startPeer();
  const conn = peer.conn("echo");
  await conn.write(text("ping"));
  assert.equal(await conn.read(new Uint8Array(4)), 4);
  const pending = conn.read(new Uint8Array(4));
  peer.send({ cmd: "close-self" });
  const err = await within(pending.catch((e) => e), 10_000, "read after the worker closed itself");
  assert.ok(err instanceof ConnClosedError, String(err));
  conn.close();
  await conn.closed;
});

Deno.test("secure() runs its handshake and moves data over a worker conn", async () => {
  await using peer = startPeer();
  const conn = await secure(peer.conn("secure-echo"), {
    role: "initiator",
    signal: AbortSignal.timeout(10_000),
  });
  const data = new Uint8Array(300_000).map((_, i) => i * 31);
  const reading = readAll(conn);
  await conn.write(data);
  await conn.closeWrite();
  assert.deepEqual(await reading, data);
  conn.close();
  await conn.closed;
});

Deno.test("frames() carries whole messages over a worker conn", async () => {
  await using peer = startPeer();
  const framed = frames(peer.conn("frames-echo"));
  for (const word of ["one", "two", "x".repeat(200_000)]) {
    await framed.send(text(word));
    const back = await framed.receive();
    assert.equal(new TextDecoder().decode(back!), word.toUpperCase());
  }
  await framed.closeWrite();
  assert.equal(await framed.receive(), null);
  framed.close();
  await framed.closed;
});

Deno.test("a conn used before its other end is attached loses nothing and waits", async () => {
  await using peer = startPeer();
  const { port1, port2 } = new MessageChannel();
  const conn = portConn(port1);
  // Written before anyone holds the other end: queued, not lost.
  await conn.write(text("early"));
  const closing = conn.closeWrite();
  const reading = readAll(conn);
  await new Promise((r) => setTimeout(r, 100));
  peer.send({ cmd: "echo", port: port2 }, [port2]);
  await closing;
  assert.equal(new TextDecoder().decode(await within(reading, 10_000, "echo")), "early");
  await conn.closed;
});

Deno.test("a conn closed before its other end attached still delivers what it wrote", async () => {
  const { port1, port2 } = new MessageChannel();
  const early = portConn(port1);
  await early.write(text("said before leaving"));
  early.close();
  await early.closed; // the port is closed: nothing waits for the other end
  const late = portConn(port2);
  assert.equal(new TextDecoder().decode(await readAll(late)), "said before leaving");
  await assert.rejects(late.write(text("anyone?")), ConnClosedError);
  late.close();
  await late.closed;
});

Deno.test("cancelling readable makes the peer's writes fail, and writing this way goes on", async () => {
  const [a, b] = localPair();
  await b.readable.cancel();
  let err: unknown = null;
  for (let i = 0; i < 200 && err === null; i++) {
    err = await a.write(text("hello?")).then(() => null, (e) => e);
    if (err === null) await new Promise((r) => setTimeout(r, 5));
  }
  assert.ok(err instanceof ConnClosedError, String(err));
  assert.match((err as Error).message, /stopped reading/);
  await b.write(text("still talking"));
  await b.closeWrite();
  assert.equal(new TextDecoder().decode(await readAll(a)), "still talking");
  a.close();
  b.close();
  await Promise.all([a.closed, b.closed]);
});

Deno.test("chunks written to writable are transferred; write(p) copies p", async () => {
  const [a, b] = localPair();
  const reading = readAll(b);
  // Within the credit the peer granted, a chunk leaves whole: its buffer is transferred.
  const given = new Uint8Array(32 * 1024).fill(9);
  const writer = a.writable.getWriter();
  await writer.write(given);
  writer.releaseLock();
  const mine = new Uint8Array(100_000).fill(7);
  await a.write(mine);
  assert.equal(mine.byteLength, 100_000, "write(p) must not take p's buffer");
  assert.ok(mine.every((x) => x === 7));
  await a.closeWrite();
  const data = await reading;
  assert.equal(given.byteLength, 0, "a chunk written to writable is transferred, not copied");
  assert.equal(data.length, 32 * 1024 + 100_000);
  assert.ok(
    data.subarray(0, 32 * 1024).every((x) => x === 9) && data.subarray(32 * 1024).every((x) => x === 7),
  );
  a.close();
  b.close();
  await Promise.all([a.closed, b.closed]);
});

Deno.test("bad arguments are TypeErrors and RangeErrors", () => {
  assert.throws(() => portConn({} as MessagePort), TypeError);
  const { port1, port2 } = new MessageChannel();
  assert.throws(() => portConn(port1, { bufferSize: 0 }), RangeError);
  assert.throws(() => listen({ transport: "worker", name: "x" }), /needs `worker`/);
  assert.throws(() => listen({ transport: "worker", worker: "parent", name: "x" }), /inside a worker/);
  assert.throws(
    () => listen({ transport: "worker", worker: port1, name: "" }),
    TypeError,
  );
  port1.close();
  port2.close();
  return assert.rejects(
    connect({ transport: "worker", worker: {} as Worker, name: "x" }),
    /must be a Worker, a MessagePort or "parent"/,
  );
});

Deno.test("a connect to a worker whose script fails before it listens is refused, not left waiting", async () => {
  const worker = new Worker(new URL("./fixtures/worker_throws.ts", import.meta.url), { type: "module" });
  // Handled here, as an application that expects it would: else Deno ends this process with it.
  worker.addEventListener("error", (event) => event.preventDefault());
  try {
    const err = await connect({
      transport: "worker",
      worker,
      name: "echo",
      signal: AbortSignal.timeout(30_000),
    })
      .catch((e) => e);
    assert.ok(err instanceof ConnectionRefusedError, String(err));
    assert.match(err.message, /failed before tether was up in it .*boom while loading/);
    // Every later connect is refused at once the same way.
    await assert.rejects(connect({ transport: "worker", worker, name: "other" }), /boom while loading/);
  } finally {
    worker.terminate();
  }
});
