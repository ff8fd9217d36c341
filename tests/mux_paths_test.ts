/**
 * The session's two ways to a conn: over a QueueConn (a pipe, another
 * session's stream) it hears of bytes the moment they are written and sends
 * a stream's write straight on; over any other conn (a socket) it reads in a
 * loop and gathers what is written while a write is under way. These tests
 * pin down what each must keep.
 */

import assert from "node:assert/strict";
import { type Conn, ConnClosedError, pipe, ProtocolError } from "../mod.ts";
import { mux, type Session } from "../mux/mod.ts";
import {
  ACK,
  DATA,
  FIN,
  frame,
  GO_AWAY,
  PING,
  RawPeer,
  readAll,
  readExactly,
  SYN,
  text,
  WINDOW_UPDATE,
  within,
} from "./mux_helpers.ts";
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
  const done = await within(Promise.all(chunks.map((c) => stream.write(c))), 10_000, "writes");
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
  const accepted = await within(server.accept(), 10_000, "accept");
  assert.equal(new TextDecoder().decode(await readAll(accepted)), "early");
  await closeAll(client, server);
});

Deno.test("over a pipe, frames the peer writes cut anywhere, or several to a write, reach the stream whole and in order", async () => {
  const wire = [
    frame(DATA, 0, 1, 3, text("abc")),
    frame(PING, SYN, 0, 7),
    frame(DATA, 0, 1, 2, text("de")),
    frame(DATA, 0, 1, 40, pattern(40, 1)),
    frame(DATA, 0, 1, 1, text("f")),
    frame(WINDOW_UPDATE, FIN, 1, 0),
  ];
  const joined = new Uint8Array(wire.reduce((n, f) => n + f.length, 0));
  wire.reduce((at, f) => (joined.set(f, at), at + f.length), 0);
  const expected = [...text("abcde"), ...pattern(40, 1), ...text("f")];
  for (const cut of [1, 5, 11, 12, 13, 25, 64, joined.length]) {
    for (const reading of ["waiting", "after"] as const) {
      const [a, b] = pipe();
      const session = mux(a, { role: "server" });
      const peer = new RawPeer(b);
      await peer.send(WINDOW_UPDATE, SYN, 1, 0);
      const stream = await within(session.accept(), 10_000, "accept");
      // A reader already waiting takes payloads straight from the writes; one that comes after finds them queued.
      const read = reading === "waiting" ? readAll(stream) : null;
      for (let at = 0; at < joined.length; at += cut) await peer.conn.write(joined.slice(at, at + cut));
      const got = await within(read ?? readAll(stream), 10_000, `read, cut ${cut}, reader ${reading}`);
      assert.deepEqual([...got], expected, `cut every ${cut} bytes, reader ${reading}`);
      const pong = await peer.until((f) => f.type === PING);
      assert.equal(pong.flags & ACK, ACK, "the ping in between was answered");
      assert.equal(pong.length, 7);
      session.close();
      peer.conn.close();
      await session.closed;
    }
  }
});

Deno.test("over a pipe, a write whose frames end the session midway resolves; the session ends with its typed error", async () => {
  for (
    const [ending, expected] of [[frame(GO_AWAY, 0, 0, 2), ConnClosedError], [
      frame(7, 0, 0, 0),
      ProtocolError,
    ]] as const
  ) {
    const [a, b] = pipe();
    const session = mux(a, { role: "server" });
    const peer = new RawPeer(b);
    await peer.send(WINDOW_UPDATE, SYN, 1, 0);
    const stream = await within(session.accept(), 10_000, "accept");
    const reading = readAll(stream).catch((err) => err);
    // The conn underneath is closed inside this very write, with frames still behind the one that ends it.
    const one = new Uint8Array([
      ...frame(DATA, 0, 1, 2, text("ok")),
      ...ending,
      ...frame(DATA, 0, 1, 3, text("late")),
    ]);
    assert.equal(await peer.conn.write(one), one.length);
    await within(session.closed, 10_000, "session end");
    assert.ok(session.error instanceof expected, `session.error is ${session.error}`);
    const err = await reading;
    assert.ok(err instanceof Error, "the stream's read fails once the session is over");
    peer.conn.close();
  }
});
