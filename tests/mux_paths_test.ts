/**
 * The session's two ways to a conn: over a QueueConn (a pipe, another
 * session's stream) it hears of bytes the moment they are written and sends
 * a stream's write straight on; over any other conn (a socket) it reads in a
 * loop and gathers what is written while a write is under way. These tests
 * pin down what each must keep.
 */

import assert from "node:assert/strict";
import { type Conn, pipe } from "../mod.ts";
import { mux, type Session } from "../mux/mod.ts";
import { readAll, readExactly, within } from "./mux_helpers.ts";
import { WrappedConn } from "./kit_helpers.ts";

const KiB = 1024;

/** A conn that is not a QueueConn: a pipe end behind plain methods, its writes counted and a little slow, as a socket's are. */
function plainConn(inner: Conn): { conn: Conn; writes: number[] } {
  const writes: number[] = [];
  const conn = new WrappedConn(inner, {
    write(inner, p, options) {
      writes.push(p.byteLength);
      return new Promise((resolve, reject) =>
        setTimeout(() => inner.write(p, options).then(resolve, reject), 1)
      );
    },
  });
  return { conn, writes };
}

function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 13 + seed) & 0xff;
  return out;
}

async function closeAll(...all: Session[]): Promise<void> {
  for (const s of all) s.close();
  await Promise.all(all.map((s) => s.closed));
}

Deno.test("over a conn without queues, what streams write while a write is under way goes out gathered in one write", async () => {
  const [a, b] = pipe({ bufferSize: 1024 * KiB });
  const plain = plainConn(a);
  const client = mux(plain.conn, { role: "client" });
  const server = mux(b, { role: "server" });
  const stream = await client.open();
  const chunks = [pattern(64 * KiB, 1), pattern(64 * KiB, 2), pattern(64 * KiB, 3)];
  // Copied into the session's buffer: each resolves at once, though the conn's write takes a while.
  const done = await within(Promise.all(chunks.map((c) => stream.write(c))), 1000, "writes");
  assert.deepEqual(done, chunks.map((c) => c.byteLength));
  await stream.closeWrite();
  const accepted = await server.accept();
  const got = await within(readAll(accepted), 5000, "the peer reading");
  const sent = new Uint8Array(3 * 64 * KiB);
  chunks.forEach((c, i) => sent.set(c, i * 64 * KiB));
  assert.deepEqual(got, sent);
  // The SYN and the first frame go at once; the next two frames wait together for that write.
  assert.ok(plain.writes.length <= 3, `${plain.writes.length} conn writes: ${plain.writes.join(", ")}`);
  assert.ok(
    plain.writes.some((n) => n >= 2 * 64 * KiB),
    `no gathered write among ${plain.writes.join(", ")}`,
  );
  await closeAll(client, server);
});

Deno.test("over a conn without queues, a write bigger than the gathering room waits its turn and arrives whole", async () => {
  const [a, b] = pipe();
  const client = mux(plainConn(a).conn, { role: "client", window: 4 * 1024 * KiB });
  const server = mux(b, { role: "server", window: 4 * 1024 * KiB });
  const stream = await client.open();
  const big = pattern(1024 * KiB, 7);
  const writing = stream.write(big);
  const accepted = await server.accept();
  const got = await within(readExactly(accepted, big.byteLength), 5000, "the peer reading");
  assert.equal(await writing, big.byteLength);
  assert.deepEqual(got, big);
  await closeAll(client, server);
});

Deno.test("a session runs over a stream of another session, both ways at once", async () => {
  const [a, b] = pipe();
  const outerClient = mux(a, { role: "client" });
  const outerServer = mux(b, { role: "server" });
  const carrier = await outerClient.open();
  await carrier.write(new Uint8Array([0])); // so the server accepts it
  const carried = await outerServer.accept();
  await carried.read(new Uint8Array(1));
  const innerClient = mux(carrier, { role: "client" });
  const innerServer = mux(carried, { role: "server" });
  const echoing = (async () => {
    for await (const s of innerServer) {
      (async () => {
        const buf = new Uint8Array(8 * KiB);
        for (let n; (n = await s.read(buf)) !== null;) await s.write(buf.subarray(0, n));
        await s.closeWrite();
      })();
    }
  })();
  const payloads = Array.from({ length: 8 }, (_, i) => pattern(96 * KiB + i, i));
  const answers = await within(
    Promise.all(payloads.map(async (p) => {
      const s = await innerClient.open();
      const reading = readAll(s);
      for (let at = 0; at < p.byteLength; at += 10 * KiB) await s.write(p.subarray(at, at + 10 * KiB));
      await s.closeWrite();
      return await reading;
    })),
    10_000,
    "the echoes",
  );
  answers.forEach((got, i) => assert.deepEqual(got, payloads[i]));
  await closeAll(innerClient, innerServer);
  await echoing;
  await closeAll(outerClient, outerServer);
});

Deno.test("frames written before mux() is called are read once it is", async () => {
  const [a, b] = pipe();
  const client = mux(a, { role: "client" });
  const stream = await client.open();
  await stream.write(new TextEncoder().encode("early"));
  await stream.closeWrite();
  await new Promise((r) => setTimeout(r, 10));
  const server = mux(b, { role: "server" }); // the frames wait in the pipe already
  const accepted = await within(server.accept(), 1000, "accept");
  assert.equal(new TextDecoder().decode(await readAll(accepted)), "early");
  await closeAll(client, server);
});
