import assert from "node:assert/strict";
import {
  ConnClosedError,
  ConnectionRefusedError,
  ConnError,
  type Dialer,
  ListenerClosedError,
  pipe,
} from "../mod.ts";
import { mux, type MuxOptions, type MuxStream, type Session } from "../mux/mod.ts";
import {
  ACK,
  DATA,
  FIN,
  GO_AWAY,
  PING,
  RawPeer,
  readAll,
  readExactly,
  RST,
  SYN,
  text,
  WINDOW_UPDATE,
  within,
} from "./mux_helpers.ts";

const KiB = 1024, MiB = 1024 * 1024;

type SideOptions = Omit<MuxOptions, "role">;

function sessions(client: SideOptions = {}, server: SideOptions = {}): [Session, Session] {
  const [a, b] = pipe();
  return [mux(a, { ...client, role: "client" }), mux(b, { ...server, role: "server" })];
}

async function closeAll(...all: Session[]): Promise<void> {
  for (const s of all) s.close();
  await Promise.all(all.map((s) => s.closed));
}

Deno.test("open() costs no round trip: the SYN announces the window and data follows at once", async () => {
  const [a, b] = pipe();
  const session = mux(a, { role: "client", window: MiB });
  const peer = new RawPeer(b);
  const stream = await session.open();
  await stream.write(text("hello"));
  const syn = await peer.next();
  assert.deepEqual(syn, { type: WINDOW_UPDATE, flags: SYN, id: 1, length: MiB - 256 * KiB, payload: null });
  const data = await peer.next();
  assert.deepEqual(data, { type: DATA, flags: 0, id: 1, length: 5, payload: text("hello") });
  assert.equal((await session.open()).id, 3, "clients open odd ids");
  await closeAll(session);
  b.close();
});

Deno.test("accepting answers the SYN with an ACK announcing the window", async () => {
  const [a, b] = pipe();
  const session = mux(a, { role: "server", window: 512 * KiB });
  const peer = new RawPeer(b);
  await peer.send(DATA, SYN, 1, 3, text("abc"));
  const ack = await peer.next();
  assert.deepEqual(ack, { type: WINDOW_UPDATE, flags: ACK, id: 1, length: 256 * KiB, payload: null });
  const stream = await session.accept();
  assert.deepEqual(await readExactly(stream, 3), text("abc"));
  assert.equal((await session.open()).id, 2, "servers open even ids");
  await closeAll(session);
  b.close();
});

Deno.test("a stream never sends past the window the peer granted", async () => {
  const [a, b] = pipe();
  const session = mux(a, { role: "client" });
  const peer = new RawPeer(b);
  const stream = await session.open();
  const writing = stream.write(new Uint8Array(MiB));
  let sent = 0;
  const count = async (until: number) => {
    while (sent < until) {
      const f = await peer.next();
      if (f?.type === DATA) sent += f.length;
    }
  };
  await count(256 * KiB);
  // Nothing more comes until the peer grants more.
  const more = await peer.next(AbortSignal.timeout(100)).catch((e) => e);
  assert.equal(more.name, "TimeoutError", `got ${JSON.stringify(more)}`);
  await peer.send(WINDOW_UPDATE, 0, 1, 1000);
  await count(256 * KiB + 1000);
  assert.equal(sent, 256 * KiB + 1000);
  const after = await peer.next(AbortSignal.timeout(100)).catch((e) => e);
  assert.equal(after.name, "TimeoutError");
  await closeAll(session);
  writing.catch(() => {});
  b.close();
});

Deno.test("a stalled reader blocks only its own stream: the others keep moving", async () => {
  const [client, server] = sessions();
  const stalled = await client.open();
  const fast = await client.open();
  const [acceptedStalled, acceptedFast] = [await server.accept(), await server.accept()];
  // Fill the stalled stream until its writer waits.
  let stuck: Promise<number> | null = null;
  for (let i = 0; i < 100 && stuck === null; i++) {
    const w = stalled.write(new Uint8Array(64 * KiB));
    const waited = await Promise.race([w.then(() => false), new Promise((r) => setTimeout(r, 20, true))]);
    if (waited) stuck = w;
  }
  assert.ok(stuck !== null, "the stalled stream never filled");
  const writing = (async () => {
    for (let i = 0; i < 128; i++) await fast.write(new Uint8Array(64 * KiB));
    await fast.closeWrite();
  })();
  const got = await within(readAll(acceptedFast), 10_000, "the fast stream");
  await writing;
  assert.equal(got.length, 8 * MiB);
  // The stalled one resumes once read.
  const reading = readAll(acceptedStalled);
  await within(stuck!, 5000, "the stalled write");
  await stalled.closeWrite();
  await reading;
  await closeAll(client, server);
});

Deno.test("a stream whose reader keeps up grows its window toward maxWindow; windowBudget caps the growth", async () => {
  for (const [budget, expectGrowth] of [[undefined, true], [0, false]] as const) {
    const [a, b] = pipe();
    const session = mux(a, { role: "server", windowBudget: budget });
    const peer = new RawPeer(b);
    await peer.send(WINDOW_UPDATE, SYN, 1, 0);
    const stream = await session.accept();
    const draining = readAll(stream);
    // Send as fast as the credit allows; note the most credit ever held.
    let credit = 256 * KiB, most = credit, sent = 0;
    const total = 64 * MiB;
    const chunk = new Uint8Array(64 * KiB);
    const reading = (async () => {
      for (;;) {
        const f = await peer.next();
        if (f === null) return;
        if (f.type === WINDOW_UPDATE && f.id === 1) {
          credit += f.length;
          most = Math.max(most, credit);
        }
      }
    })();
    while (sent < total) {
      if (credit === 0) {
        await new Promise((r) => setTimeout(r, 0));
        continue;
      }
      const n = Math.min(credit, chunk.length, total - sent);
      await peer.send(DATA, 0, 1, n, chunk.subarray(0, n));
      credit -= n;
      sent += n;
    }
    await peer.send(WINDOW_UPDATE, FIN, 1, 0);
    assert.equal((await draining).length, total);
    if (expectGrowth) assert.ok(most > MiB, `the window never grew: at most ${most} bytes of credit`);
    else assert.ok(most <= 256 * KiB, `the window grew to ${most} with no budget`);
    session.close();
    await reading;
    b.close();
  }
});

Deno.test("maxStreams: a stream the peer opens past it is refused with RST; open() past it rejects, temporarily", async () => {
  const [client, server] = sessions({ maxStreams: 2 }, { maxStreams: 2 });
  const [one, two] = [await client.open(), await client.open()];
  const err = await client.open().catch((e) => e);
  assert.ok(err instanceof ConnError && err.code === "ESTREAMLIMIT" && err.temporary, `got ${err}`);
  await one.write(text("1"));
  await two.write(text("2"));
  const [x, y] = [await server.accept(), await server.accept()];
  // The server opens two of its own; then, with a raw peer, a third inbound.
  one.close();
  x.close();
  await within(
    (async () => {
      while (client.streams > 1) await new Promise((r) => setTimeout(r, 1));
    })(),
    5000,
    "the closed stream to be forgotten",
  );
  assert.ok((await client.open()) !== undefined, "a slot is free again once a stream is done");
  y.close();
  two.close();
  await closeAll(client, server);

  const [a, b] = pipe();
  const limited = mux(a, { role: "server", maxStreams: 2 });
  const peer = new RawPeer(b);
  for (const id of [1, 3, 5]) await peer.send(WINDOW_UPDATE, SYN, id, 0);
  const answers = [await peer.next(), await peer.next(), await peer.next()];
  assert.deepEqual(answers.map((f) => [f!.id, f!.flags]), [[1, ACK], [3, ACK], [5, RST]]);
  await closeAll(limited);
  b.close();
});

Deno.test("acceptBacklog: streams past the backlog are refused, and the opener sees ConnectionRefusedError", async () => {
  const [client, server] = sessions({}, { acceptBacklog: 3 });
  const streams = await Promise.all(Array.from({ length: 5 }, () => client.open()));
  const outcomes = await Promise.all(streams.slice(3).map((s) => s.read(new Uint8Array(1)).catch((e) => e)));
  assert.ok(outcomes.every((e) => e instanceof ConnectionRefusedError), `got ${outcomes}`);
  await assert.rejects(streams[4].write(text("x")), ConnectionRefusedError);
  assert.equal(server.streams, 3);
  for (const s of streams.slice(0, 3)) s.close();
  await closeAll(client, server);
});

Deno.test("close() with unread bytes sends FIN, then RST; without, just FIN; bytes after a close get RST", async () => {
  const [a, b] = pipe();
  const session = mux(a, { role: "server" });
  const peer = new RawPeer(b);
  await peer.send(DATA, SYN, 1, 6, text("unread"));
  await peer.next(); // ACK
  const unread = await session.accept();
  await unread.write(text("bye"));
  unread.close();
  const frames = [await peer.next(), await peer.next(), await peer.next()];
  assert.deepEqual(frames.map((f) => [f!.type, f!.flags]), [[DATA, 0], [WINDOW_UPDATE, FIN], [
    WINDOW_UPDATE,
    RST,
  ]]);

  await peer.send(WINDOW_UPDATE, SYN, 3, 0);
  await peer.next();
  const clean = await session.accept();
  clean.close();
  assert.deepEqual(await peer.next(), { type: WINDOW_UPDATE, flags: FIN, id: 3, length: 0, payload: null });
  await peer.send(DATA, 0, 3, 4, text("late"));
  assert.deepEqual(await peer.next(), { type: WINDOW_UPDATE, flags: RST, id: 3, length: 0, payload: null });
  await closeAll(session);
  b.close();
});

Deno.test("cancelling readable drops what comes and credits it back, so the peer's writes go on", async () => {
  const [client, server] = sessions();
  const stream = await client.open();
  await stream.write(text("x"));
  const accepted = await server.accept();
  await accepted.readable.cancel();
  for (let i = 0; i < 64; i++) await within(stream.write(new Uint8Array(64 * KiB)), 5000, `write ${i}`);
  await accepted.write(text("still writing"));
  assert.deepEqual(await readExactly(stream, 13), text("still writing"));
  await closeAll(client, server);
});

Deno.test("a timed-out write leaves the stream working: the peer reads the prefix, then what follows, then EOF (yamux#142)", async () => {
  const [client, server] = sessions();
  const stream = await client.open();
  await stream.write(text("start"));
  const peer = await server.accept();
  let written = 5, timedOut = false;
  while (!timedOut) {
    const chunk = new Uint8Array(64 * KiB).fill(1);
    await stream.write(chunk, { signal: AbortSignal.timeout(50) }).then(
      () => written += chunk.length,
      (e) => timedOut = e.name === "TimeoutError",
    );
  }
  await stream.write(text("after"));
  stream.close();
  const got = await within(readAll(peer), 10_000, "the peer's read");
  assert.ok(got.length >= written + 5 && got.length <= written + 64 * KiB + 5, `got ${got.length}`);
  assert.deepEqual(got.subarray(got.length - 5), text("after"));
  await closeAll(client, server);
});

Deno.test("ping() measures the round trip; an aborted ping is a ConnError naming it", async () => {
  const [client, server] = sessions();
  const rtt = await client.ping();
  assert.ok(rtt >= 0 && rtt < 5000);
  assert.equal(client.rtt, rtt);
  const [a, b] = pipe();
  const silent = mux(a, { role: "client" });
  const err = await silent.ping({ signal: AbortSignal.timeout(30) }).catch((e) => e);
  assert.ok(err instanceof ConnError && err.timeout && err.op === "ping", `got ${err}`);
  await closeAll(client, server, silent);
  b.close();
});

Deno.test("keepAlive ends a session whose peer stopped answering, with a timeout error on every stream", async () => {
  const [a, b] = pipe();
  const session = mux(a, { role: "client", keepAlive: 50 });
  const peer = new RawPeer(b);
  peer.answerPings = false;
  const stream = await session.open();
  const reading = stream.read(new Uint8Array(1)).catch((e) => e);
  const draining = (async () => {
    while (await peer.next().catch(() => null) !== null);
  })();
  await within(session.closed, 5000, "keepalive");
  const err = await reading;
  assert.ok(err instanceof ConnError && err.timeout && err.code === "ETIMEDOUT", `got ${err}`);
  assert.match(err.message, /did not answer a ping within 50 ms/);
  assert.equal(session.error, err);
  await draining;
  b.close();
});

Deno.test("keepAlive keeps a session with an answering peer open", async () => {
  const [client, server] = sessions({ keepAlive: 20 }, { keepAlive: 20 });
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(client.error, null);
  assert.equal(server.error, null);
  const stream = await client.open();
  await stream.write(text("alive"));
  assert.deepEqual(await readExactly(await server.accept(), 5), text("alive"));
  await closeAll(client, server);
});

Deno.test("goAway(): no new streams either way, the open ones finish, then the session closes", async () => {
  const [client, server] = sessions();
  const stream = await client.open();
  await stream.write(text("q"));
  const accepted = await server.accept();
  const going = server.goAway();
  await assert.rejects(server.open(), ConnClosedError);
  // The client learns of it from the GoAway frame.
  await within(
    (async () => {
      for (;;) {
        const err = await client.open().then((s) => (s.close(), null), (e) => e);
        if (err instanceof ConnectionRefusedError) return;
        await new Promise((r) => setTimeout(r, 1));
      }
    })(),
    5000,
    "GoAway to reach the client",
  );
  await accepted.write(text("a"));
  await accepted.closeWrite();
  assert.deepEqual(await readAll(stream), text("a"));
  await stream.closeWrite();
  assert.deepEqual(await readAll(accepted), text("q"));
  await within(going, 5000, "goAway to finish");
  assert.equal(server.error, null);
  await closeAll(client, server);
});

Deno.test("close() ends every stream on both sides with ConnClosedError; the peer's accept loop ends quietly", async () => {
  const [client, server] = sessions();
  const serving = (async () => {
    const streams: MuxStream[] = [];
    for await (const s of server) streams.push(s);
    return streams;
  })();
  const mine = await Promise.all([client.open(), client.open()]);
  for (const s of mine) await s.write(text("x"));
  const pending = mine.map((s) => s.read(new Uint8Array(1)).catch((e) => e));
  client.close();
  for (const err of await Promise.all(pending)) assert.ok(err instanceof ConnClosedError);
  const theirs = await within(serving, 5000, "the accept loop");
  assert.equal(theirs.length, 2);
  for (const s of theirs) {
    const got = await s.read(new Uint8Array(1)).then(() => s.read(new Uint8Array(1))).catch((e) => e);
    assert.ok(got instanceof ConnClosedError, `got ${got}`);
  }
  assert.equal(server.error, null);
  await assert.rejects(server.accept(), ListenerClosedError);
  await assert.rejects(client.open(), ConnClosedError);
  await Promise.all([client.closed, server.closed]);
});

Deno.test("the conn underneath failing ends every stream at once with ConnClosedError, and for await throws", async () => {
  const [a, b] = pipe();
  const session = mux(a, { role: "client" });
  const peer = mux(b, { role: "server" });
  const streams = await Promise.all(Array.from({ length: 20 }, () => session.open()));
  const reads = streams.map((s) => s.read(new Uint8Array(1)).catch((e) => e));
  const writes = streams.map((s) => s.write(new Uint8Array(2 * MiB)).catch((e) => e));
  const looping = (async () => {
    for await (const _ of session) { /* nothing opened by the peer */ }
  })().catch((e) => e);
  // The transport breaks under the session: an unexpected read error.
  a.readable.cancel(new Error("socket reset")).catch(() => {});
  b.close();
  for (const err of await within(Promise.all([...reads, ...writes]), 5000, "streams")) {
    assert.ok(err instanceof ConnClosedError, `got ${err}`);
  }
  await within(session.closed, 5000, "session end");
  assert.ok((await looping) === undefined || (await looping) instanceof ConnClosedError);
  await closeAll(peer);
});

Deno.test("a signal given to mux() closes the session when it aborts; bad options are TypeErrors and RangeErrors", async () => {
  const controller = new AbortController();
  const [a, b] = pipe();
  const session = mux(a, { role: "client", signal: controller.signal });
  controller.abort();
  await within(session.closed, 5000, "session end");
  b.close();
  const [c] = pipe();
  assert.throws(() => mux(c, { role: "peer" as "client" }), TypeError);
  assert.throws(() => mux(c, { role: "client", window: 1024 }), RangeError);
  assert.throws(() => mux(c, { role: "client", maxWindow: 128 * KiB }), RangeError);
  assert.throws(() => mux(c, { role: "client", maxStreams: 0 }), RangeError);
  assert.throws(() => mux(c, { role: "client", keepAlive: 1.5 }), TypeError);
  assert.throws(() => mux("conn" as never, { role: "client" }), TypeError);
  const err = (() => {
    try {
      mux(c, { role: "client", signal: AbortSignal.abort() });
    } catch (e) {
      return e;
    }
  })();
  assert.ok(err instanceof ConnError && err.op === "mux", `got ${err}`);
  c.close();
});

Deno.test("dialer() opens streams, for code written against Dialer", async () => {
  const [client, server] = sessions();
  const dialer: Dialer = client.dialer();
  const conn = await dialer.dial({ signal: AbortSignal.timeout(1000) });
  await conn.write(text("via dialer"));
  assert.deepEqual(await readExactly(await server.accept(), 10), text("via dialer"));
  await closeAll(client, server);
});

Deno.test("a peer's GoAway(normal) leaves the session open for the streams it has", async () => {
  const [a, b] = pipe();
  const session = mux(a, { role: "client" });
  const peer = new RawPeer(b);
  const stream = await session.open();
  await peer.next(); // SYN
  await peer.send(GO_AWAY, 0, 0, 0);
  await peer.send(DATA, ACK, 1, 2, text("ok"));
  assert.deepEqual(await readExactly(stream, 2), text("ok"));
  await assert.rejects(session.open(), ConnectionRefusedError);
  assert.equal(session.error, null);
  await peer.send(PING, SYN, 0, 42);
  peer.answerPings = false;
  assert.deepEqual(await peer.next(), { type: PING, flags: ACK, id: 0, length: 42, payload: null });
  await closeAll(session);
  b.close();
});
