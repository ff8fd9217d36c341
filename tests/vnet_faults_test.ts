/**
 * Every fault of the virtual network, each met by client code written to
 * handle it, and the seed making the random ones replay.
 */

import assert from "node:assert/strict";
import { type FaultEvent, virtualNetwork } from "../vnet/mod.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Reads from `conn` until EOF, as a download does. */
async function readToEnd(conn: Deno.Conn, sizes?: number[]): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const buf = new Uint8Array(64 * 1024);
  for (let n; (n = await conn.read(buf)) !== null;) {
    sizes?.push(n);
    parts.push(buf.slice(0, n));
  }
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.byteLength, 0));
  let at = 0;
  for (const part of parts) out.set(part, (at += part.byteLength) - part.byteLength);
  return out;
}

/** A fake server that sends `body` on each connection, then closes. */
function serveBytes(
  listener: Deno.Listener,
  body: Uint8Array,
  onConn?: (conn: Deno.Conn) => void,
): Promise<void> {
  return (async () => {
    for await (const conn of listener) {
      onConn?.(conn);
      conn.write(body).then(() => conn.close(), () => {});
    }
  })();
}

Deno.test("latency: a client with a deadline gives up on a slow server, and gets its answer from a fast one", async () => {
  // The code under test: a health check that must answer within its budget.
  async function healthy(url: string, budgetMs: number): Promise<boolean> {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(budgetMs) });
      return (await res.json()).status === "ok";
    } catch (err) {
      if (err instanceof DOMException && err.name === "TimeoutError") return false;
      throw err;
    }
  }
  await using net = virtualNetwork({ seed: 11 });
  await using _app = Deno.serve({ port: 8000, onListen() {} }, () => Response.json({ status: "ok" }));
  {
    using _slow = net.fault({ port: 8000 }, { type: "latency", ms: 300, jitter: 50, direction: "toClient" });
    assert.equal(await healthy("http://localhost:8000/health", 50), false);
  }
  const started = performance.now();
  using _fast = net.fault({ port: 8000 }, { type: "latency", ms: 20 });
  assert.equal(await healthy("http://localhost:8000/health", 5000), true);
  assert.ok(performance.now() - started >= 40, "a round trip took at least the latency each way");
});

Deno.test("latency jitter replays under the same seed and differs under another", async () => {
  async function run(seed: number): Promise<number[]> {
    const delays: number[] = [];
    await using net = virtualNetwork({
      seed,
      trace: (e: FaultEvent) => e.type === "latency" && delays.push(e.value),
    });
    using listener = Deno.listen({ port: 9000 });
    using _jitter = net.fault({ port: 9000 }, { type: "latency", ms: 5, jitter: 5 });
    const conn = await Deno.connect({ port: 9000 });
    const server = await listener.accept();
    for (let i = 0; i < 10; i++) {
      await conn.write(encoder.encode(`ping ${i}`));
      await server.read(new Uint8Array(16));
    }
    conn.close();
    server.close();
    return delays;
  }
  const first = await run(1234);
  assert.equal(first.length, 10);
  assert.ok(first.every((ms) => ms >= 0 && ms <= 10));
  assert.ok(new Set(first).size > 1, "jitter varies the delay");
  assert.deepEqual(await run(1234), first);
  assert.notDeepEqual(await run(4321), first);
});

Deno.test("bandwidth: a download is capped, and a client with a time budget aborts it", async () => {
  // The code under test: fetch a file, giving up past a time budget.
  async function download(url: string, budgetMs: number): Promise<number | "too slow"> {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(budgetMs) });
      return (await res.bytes()).byteLength;
    } catch (err) {
      if (err instanceof DOMException && err.name === "TimeoutError") return "too slow";
      throw err;
    }
  }
  const waited: number[] = [];
  await using net = virtualNetwork({ seed: 3, trace: (e) => e.type === "bandwidth" && waited.push(e.value) });
  const file = new Uint8Array(64 * 1024);
  await using _files = Deno.serve(
    { hostname: "files.internal", port: 80, onListen() {} },
    () => new Response(file),
  );
  using _cap = net.fault({ hostname: "files.internal" }, {
    type: "bandwidth",
    bytesPerSecond: 256 * 1024,
    direction: "toClient",
  });
  assert.equal(await download("http://files.internal/big.bin", 100), "too slow");
  waited.length = 0;
  const started = performance.now();
  assert.equal(await download("http://files.internal/big.bin", 10_000), file.byteLength);
  // 64 KiB at 256 KiB/s is a quarter of a second, in pieces of a twentieth of a second's worth.
  assert.ok(waited.reduce((a, b) => a + b, 0) >= 250);
  assert.ok(performance.now() - started >= 250);
});

Deno.test("reset after N bytes: the client sees exactly N bytes, then ConnectionReset, and its retry succeeds", async () => {
  // The code under test: a download that retries once on a reset connection.
  async function downloadWithRetry(hostname: string, port: number, sizes: number[]): Promise<Uint8Array> {
    for (let attempt = 1;; attempt++) {
      const conn = await Deno.connect({ hostname, port });
      try {
        return await readToEnd(conn, sizes);
      } catch (err) {
        if (!(err instanceof Deno.errors.ConnectionReset) || attempt === 3) throw err;
        sizes.push(-1); // where the reset came
      } finally {
        try {
          conn.close();
        } catch {
          // closed already
        }
      }
    }
  }
  await using net = virtualNetwork({ seed: 5 });
  using listener = Deno.listen({ hostname: "files.internal", port: 21 });
  const body = new Uint8Array(10_000).map((_, i) => i % 251);
  let first = true;
  const serving = serveBytes(listener, body, (conn) => {
    // A fault on the first connection alone: it is reset after 1000 bytes to the client.
    if (first) net.fault(conn, { type: "reset", afterBytes: 1000, direction: "toClient" });
    first = false;
  });
  const sizes: number[] = [];
  const got = await downloadWithRetry("files.internal", 21, sizes);
  assert.deepEqual(got, body);
  const cut = sizes.indexOf(-1);
  assert.ok(cut > 0, "the first attempt was reset");
  assert.equal(sizes.slice(0, cut).reduce((a, b) => a + b, 0), 1000);
  listener.close();
  await serving;
});

Deno.test("a peer that stops reading: the writer's own deadline gets it out, and writes go on once it reads", async () => {
  // The code under test: send a large upload, but never wait more than the deadline for the peer.
  async function upload(
    conn: Deno.Conn,
    bytes: Uint8Array,
    deadlineMs: number,
  ): Promise<"sent" | "peer not reading"> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<"peer not reading">((resolve) => {
      timer = setTimeout(() => resolve("peer not reading"), deadlineMs);
    });
    try {
      return await Promise.race([conn.write(bytes).then(() => "sent" as const), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }
  await using net = virtualNetwork({ seed: 9 });
  using listener = Deno.listen({ hostname: "uploads.internal", port: 9 });
  const conn = await Deno.connect({ hostname: "uploads.internal", port: 9 });
  const server = await listener.accept();
  const stall = net.fault(conn, { type: "stall", direction: "toServer" });
  const big = new Uint8Array(1024 * 1024);
  assert.equal(await upload(conn, big, 100), "peer not reading");
  stall.remove(); // the peer reads again: the same write completes, nothing lost
  const received = readToEnd(server);
  assert.equal(await upload(conn, new Uint8Array(10), 5000), "sent");
  await conn.closeWrite();
  assert.equal((await received).byteLength, big.byteLength + 10);
  conn.close();
});

Deno.test("slicing: a client that reads whole lines copes with writes cut into small random pieces; one that assumes a read is a message does not", async () => {
  // Two clients of a line protocol: one trusts that a read is a message, one reads until "\n".
  async function naive(conn: Deno.Conn): Promise<string> {
    const buf = new Uint8Array(1024);
    const n = await conn.read(buf);
    return decoder.decode(buf.subarray(0, n!)).trim();
  }
  async function lineReader(conn: Deno.Conn, sizes: number[]): Promise<string> {
    let text = "";
    const buf = new Uint8Array(1024);
    while (!text.includes("\n")) {
      const n = await conn.read(buf);
      if (n === null) throw new Error("EOF before the line ended");
      sizes.push(n);
      text += decoder.decode(buf.subarray(0, n));
    }
    return text.trim();
  }
  async function run(seed: number, client: (conn: Deno.Conn, sizes: number[]) => Promise<string>) {
    await using net = virtualNetwork({ seed });
    using listener = Deno.listen({ hostname: "lines.internal", port: 7 });
    using _slicer = net.fault({ hostname: "lines.internal" }, {
      type: "slice",
      averageSize: 4,
      variation: 3,
      direction: "toClient",
    });
    const serving = serveBytes(listener, encoder.encode("the quick brown fox jumps\n"));
    const conn = await Deno.connect({ hostname: "lines.internal", port: 7 });
    const sizes: number[] = [];
    const line = await client(conn, sizes);
    conn.close();
    listener.close();
    await serving;
    return { line, sizes };
  }
  const good = await run(77, lineReader);
  assert.equal(good.line, "the quick brown fox jumps");
  assert.ok(good.sizes.length >= 4 && good.sizes.every((n) => n >= 1 && n <= 7), String(good.sizes));
  assert.deepEqual((await run(77, lineReader)).sizes, good.sizes, "the same seed slices the same");
  assert.notDeepEqual((await run(78, lineReader)).sizes, good.sizes);
  const bad = await run(77, naive);
  assert.notEqual(bad.line, "the quick brown fox jumps");
  assert.equal(bad.line.length, good.sizes[0]);
});

Deno.test("a half-open peer: a client with a heartbeat deadline notices and reconnects", async () => {
  // The code under test: ping, and treat a missing pong as a dead connection.
  async function ping(conn: Deno.Conn, timeoutMs: number): Promise<"pong" | "dead"> {
    await conn.write(encoder.encode("ping\n"));
    const buf = new Uint8Array(16);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const silence = new Promise<"dead">((resolve) => timer = setTimeout(() => resolve("dead"), timeoutMs));
    try {
      return await Promise.race([conn.read(buf).then((n) => n === null ? "dead" : "pong"), silence]);
    } finally {
      clearTimeout(timer);
    }
  }
  await using net = virtualNetwork({ seed: 13 });
  using listener = Deno.listen({ hostname: "chat.internal", port: 5222 });
  const serverSaw: string[] = [];
  const serving = (async () => {
    for await (const conn of listener) {
      (async () => {
        const buf = new Uint8Array(16);
        for (let n; (n = await conn.read(buf).catch(() => null)) !== null;) {
          serverSaw.push(decoder.decode(buf.subarray(0, n)).trim());
          await conn.write(encoder.encode("pong\n")).catch(() => {});
        }
      })();
    }
  })();
  let conn = await Deno.connect({ hostname: "chat.internal", port: 5222 });
  assert.equal(await ping(conn, 1000), "pong");
  // After this point the peer is gone without a word: no data, no EOF, no reset.
  net.fault(conn, { type: "halfOpen" });
  assert.equal(await ping(conn, 100), "dead");
  conn.close(); // nobody hears this close
  assert.deepEqual(serverSaw, ["ping"]);
  conn = await Deno.connect({ hostname: "chat.internal", port: 5222 });
  assert.equal(await ping(conn, 1000), "pong");
  conn.close();
  listener.close();
  await serving;
});

Deno.test("a partition refuses new connects and silences open ones; healing delivers what was sent meanwhile", async () => {
  // The code under test: connect with retries and a backoff.
  async function connectWithRetry(hostname: string, port: number, attempts: number): Promise<Deno.Conn> {
    for (let i = 1;; i++) {
      try {
        return await Deno.connect({ hostname, port });
      } catch (err) {
        if (!(err instanceof Deno.errors.ConnectionRefused) || i === attempts) throw err;
        await new Promise((r) => setTimeout(r, 10 * i));
      }
    }
  }
  await using net = virtualNetwork({ seed: 17 });
  using listener = Deno.listen({ hostname: "db.internal", port: 5432 });
  const open = await Deno.connect({ hostname: "db.internal", port: 5432 });
  const server = await listener.accept();
  const partition = net.fault({ hostname: "db.internal" }, { type: "partition" });
  await assert.rejects(connectWithRetry("db.internal", 5432, 2), Deno.errors.ConnectionRefused);
  await open.write(encoder.encode("sent during the partition"));
  const buf = new Uint8Array(64);
  const reading = server.read(buf);
  const early = await Promise.race([reading, new Promise((r) => setTimeout(() => r("silent"), 50))]);
  assert.equal(early, "silent");
  // Heal while the client is still retrying: it gets through.
  const retrying = connectWithRetry("db.internal", 5432, 20);
  setTimeout(() => partition.remove(), 30);
  const later = await retrying;
  const n = await reading;
  assert.equal(decoder.decode(buf.subarray(0, n!)), "sent during the partition");
  later.close();
  open.close();
  server.close();
});

Deno.test("a fault on one connection leaves the others alone", async () => {
  await using net = virtualNetwork({ seed: 19 });
  using listener = Deno.listen({ port: 6000 });
  const a = await Deno.connect({ port: 6000 });
  const b = await Deno.connect({ port: 6000 });
  const serverA = await listener.accept();
  const serverB = await listener.accept();
  net.fault(serverA, { type: "reset" }); // from the server's side of a
  await assert.rejects(a.read(new Uint8Array(1)), Deno.errors.ConnectionReset);
  await serverB.write(encoder.encode("b is fine"));
  const buf = new Uint8Array(16);
  assert.equal(decoder.decode(buf.subarray(0, (await b.read(buf))!)), "b is fine");
  assert.throws(() => net.fault({ nonsense: true }, { type: "reset" }), TypeError);
  assert.throws(() => net.fault({}, { type: "latency", ms: -1 }), RangeError);
  assert.throws(() => net.fault({}, { type: "teleport" } as never), /unknown fault type/);
  for (const c of [a, b, serverA, serverB]) c[Symbol.dispose]();
});
