// Bad input from a yamux peer, written by hand: each case gets a typed
// error, resets the stream or ends the session with GoAway(protocol error),
// and nothing else is lost.
import assert from "node:assert/strict";
import { ConnClosedError, ConnError, pipe, ProtocolError } from "../mod.ts";
import { mux, type MuxStream, type Session } from "../mux/mod.ts";
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
  RST,
  SYN,
  text,
  WINDOW_UPDATE,
  within,
} from "./mux_helpers.ts";

/** A tether server session facing a raw peer. */
function serverFacingRaw(options: { maxWindow?: number } = {}): { session: Session; peer: RawPeer } {
  const [a, b] = pipe();
  return { session: mux(a, { role: "server", ...options }), peer: new RawPeer(b) };
}

/** The raw peer opens stream `id` with `payload`; returns the accepted stream. */
async function rawOpen(
  session: Session,
  peer: RawPeer,
  id: number,
  payload?: Uint8Array,
): Promise<MuxStream> {
  await peer.send(payload ? DATA : WINDOW_UPDATE, SYN, id, payload?.length ?? 0, payload);
  const ack = await peer.until((f) => f.id === id);
  assert.equal(ack.flags & ACK, ACK, "tether answers a SYN with an ACK");
  return await session.accept({ signal: AbortSignal.timeout(5000) });
}

/** Expects the session to end with a ProtocolError whose message matches, after a GoAway(protocol error). */
async function expectSessionProtocolError(session: Session, peer: RawPeer, message: RegExp): Promise<void> {
  const goAway = await peer.until((f) => f.type === GO_AWAY);
  assert.equal(goAway.length, 1, "GoAway(protocol error)");
  await within(session.closed, 5000, "session end");
  assert.ok(session.error instanceof ProtocolError, `session.error is ${session.error}`);
  assert.match(session.error.message, message);
  await assert.rejects(session.accept(), ProtocolError);
  assert.equal(await peer.next(), null, "the conn underneath is closed after the GoAway");
}

const sessionErrors: { name: string; bytes: Uint8Array; message: RegExp }[] = [
  {
    name: "an unknown version",
    bytes: Uint8Array.of(1, ...frame(PING, SYN, 0, 1).subarray(1)),
    message: /version 1/,
  },
  { name: "an unknown frame type", bytes: frame(4, 0, 0, 0), message: /unknown frame type 4/ },
  { name: "an unknown flag", bytes: frame(WINDOW_UPDATE, 0x10, 2, 0), message: /unknown flags 0x10/ },
  { name: "a Data frame for stream 0", bytes: frame(DATA, 0, 0, 3, text("abc")), message: /stream 0/ },
  {
    name: "a frame for a stream never opened",
    bytes: frame(WINDOW_UPDATE, 0, 1001, 10),
    message: /never opened/,
  },
  { name: "a SYN with the wrong parity", bytes: frame(WINDOW_UPDATE, SYN, 2, 0), message: /odd ids/ },
  {
    name: "a Data length larger than any window",
    bytes: frame(DATA, SYN, 1, 0xffff_ffff),
    message: /larger than any window/,
  },
  { name: "a Ping that is neither SYN nor ACK", bytes: frame(PING, 0, 0, 5), message: /neither SYN nor ACK/ },
  { name: "a GoAway with an unknown code", bytes: frame(GO_AWAY, 0, 0, 9), message: /unknown code 9/ },
  {
    name: "a header cut short by EOF",
    bytes: frame(PING, SYN, 0, 1).subarray(0, 7),
    message: /cut short by EOF/,
  },
  {
    name: "a payload cut short by EOF",
    bytes: frame(DATA, SYN, 1, 100, new Uint8Array(40)).subarray(0, 52),
    message: /cut short by EOF/,
  },
  {
    // Found by the fuzz at 5,000 iterations: the session waited turns for the new stream's reader forever.
    name: "a payload cut short by EOF before any of it came, on a stream just opened",
    bytes: new Uint8Array([...frame(PING, ACK, 0, 0x700d592f), ...frame(DATA, SYN, 1, 23)]),
    message: /23 payload bytes were still to come/,
  },
];

for (const { name, bytes, message } of sessionErrors) {
  Deno.test(`${name} ends the session with a ProtocolError and GoAway(protocol error)`, async () => {
    const { session, peer } = serverFacingRaw();
    const open = await rawOpen(session, peer, 101, text("queued"));
    await peer.conn.write(bytes);
    if (name.includes("cut short")) await peer.conn.closeWrite();
    await expectSessionProtocolError(session, peer, message);
    // The stream that was open gets its bytes, then the same error.
    assert.deepEqual(await readAll(open, 6).catch(() => null), null);
    peer.conn.close();
  });
}

for (const before of [new Uint8Array(0), frame(PING, SYN, 0, 1)]) {
  const what = before.length === 0 ? "alone" : "after a whole frame";
  Deno.test(`a header cut short by EOF, ${what}, all queued before the session starts, ends it with a ProtocolError`, async () => {
    const [a, b] = pipe();
    const peer = new RawPeer(b);
    await peer.conn.write(new Uint8Array([...before, ...frame(PING, SYN, 0, 2).subarray(0, 6)]));
    await peer.conn.closeWrite();
    const session = mux(a, { role: "server" });
    await expectSessionProtocolError(session, peer, /6 of 12 header bytes arrived/);
    peer.conn.close();
  });
}

Deno.test("a SYN reusing a live stream id ends the session with a ProtocolError", async () => {
  const { session, peer } = serverFacingRaw();
  await rawOpen(session, peer, 1);
  await peer.send(WINDOW_UPDATE, SYN, 1, 0);
  await expectSessionProtocolError(session, peer, /SYN for stream 1, which is open/);
  peer.conn.close();
});

Deno.test("a stream's readers get the bytes that came before a session error, then the error", async () => {
  const { session, peer } = serverFacingRaw();
  const stream = await rawOpen(session, peer, 1, text("before"));
  await peer.conn.write(frame(9, 0, 0, 0));
  const buf = new Uint8Array(6);
  assert.equal(await stream.read(buf), 6);
  assert.deepEqual(buf, text("before"));
  await assert.rejects(stream.read(buf), ProtocolError);
  await assert.rejects(stream.write(text("x")), ConnClosedError);
  peer.conn.close();
});

Deno.test("Data past the window resets only that stream, with a ProtocolError", async () => {
  const { session, peer } = serverFacingRaw();
  const bad = await rawOpen(session, peer, 1);
  const good = await rawOpen(session, peer, 3);
  // 256 KiB were granted; send 256 KiB + 1 in two frames.
  await peer.send(DATA, 0, 1, 256 * 1024, new Uint8Array(256 * 1024));
  await peer.send(DATA, 0, 1, 1, new Uint8Array(1));
  const rst = await peer.until((f) => f.id === 1 && (f.flags & RST) !== 0);
  assert.equal(rst.type, WINDOW_UPDATE);
  const got = await readAll(bad).then(() => null, (e) => e);
  assert.ok(got instanceof ProtocolError && /past the window/.test(got.message), `got ${got}`);
  await assert.rejects(bad.write(text("x")), ConnClosedError);
  // The session and the other stream go on.
  await peer.send(DATA, 0, 3, 2, text("ok"));
  assert.deepEqual(await readExactly(good, 2), text("ok"));
  assert.equal(session.error, null);
  await good.write(text("fine"));
  const data = await peer.until((f) => f.id === 3 && f.type === DATA);
  assert.deepEqual(data.payload, text("fine"));
  session.close();
  peer.conn.close();
});

Deno.test("a window update past 2^32 - 1 resets the stream with a ProtocolError", async () => {
  const { session, peer } = serverFacingRaw();
  const stream = await rawOpen(session, peer, 1);
  await peer.send(WINDOW_UPDATE, 0, 1, 0xffff_ffff);
  await peer.until((f) => f.id === 1 && (f.flags & RST) !== 0);
  await assert.rejects(stream.read(new Uint8Array(1)), /past 2\^32 - 1/);
  assert.equal(session.error, null);
  session.close();
  peer.conn.close();
});

Deno.test("Data after the peer's FIN resets the stream; the bytes before the FIN are read first", async () => {
  const { session, peer } = serverFacingRaw();
  const stream = await rawOpen(session, peer, 1, text("all"));
  await peer.send(WINDOW_UPDATE, FIN, 1, 0);
  await peer.send(DATA, 0, 1, 4, text("more"));
  await peer.until((f) => f.id === 1 && (f.flags & RST) !== 0);
  // The FIN came first: the reader sees the bytes, then EOF.
  assert.deepEqual(await readAll(stream), text("all"));
  session.close();
  peer.conn.close();
});

Deno.test("frames for a stream that ended here are dropped quietly", async () => {
  const { session, peer } = serverFacingRaw();
  const stream = await rawOpen(session, peer, 1);
  await peer.send(WINDOW_UPDATE, RST, 1, 0);
  await assert.rejects(stream.read(new Uint8Array(1)), ConnClosedError);
  await peer.send(DATA, 0, 1, 5, text("late!"));
  await peer.send(WINDOW_UPDATE, 0, 1, 100);
  const second = await rawOpen(session, peer, 3, text("next"));
  assert.deepEqual(await readExactly(second, 4), text("next"));
  assert.equal(session.error, null);
  session.close();
  peer.conn.close();
});

Deno.test("GoAway(protocol error) from the peer ends the session with a ProtocolError; GoAway(internal error) with a ConnClosedError", async () => {
  for (const [code, kind] of [[1, ProtocolError], [2, ConnClosedError]] as const) {
    const { session, peer } = serverFacingRaw();
    const stream = await rawOpen(session, peer, 1);
    await peer.send(GO_AWAY, 0, 0, code);
    await within(session.closed, 5000, "session end");
    assert.ok(session.error instanceof kind, `code ${code}: ${session.error}`);
    await assert.rejects(stream.read(new Uint8Array(1)), kind);
    peer.conn.close();
  }
});

Deno.test("a peer that floods pings and never reads the answers is not read from either: memory stays bounded", async () => {
  const [a, b] = pipe({ bufferSize: 4096 });
  const session = mux(a, { role: "server" });
  // Write pings until the writes stop completing: tether stopped reading.
  let sent = 0;
  const ping = frame(PING, SYN, 0, 7);
  const batch = new Uint8Array(ping.length * 256);
  for (let i = 0; i < 256; i++) batch.set(ping, i * ping.length);
  for (;;) {
    const ok = await b.write(batch, { signal: AbortSignal.timeout(200) }).then(() => true, () => false);
    if (!ok) break;
    sent += 256;
    assert.ok(sent < 1_000_000, "tether kept reading pings it could not answer");
  }
  assert.equal(session.error, null);
  session.close();
  b.close();
});

Deno.test("random garbage ends the session with a typed error, never a crash or a hang", async () => {
  for (let seed = 1; seed <= 50; seed++) {
    const [a, b] = pipe();
    const session = mux(a, { role: seed % 2 ? "client" : "server" });
    const garbage = new Uint8Array(200);
    let x = seed;
    for (let i = 0; i < garbage.length; i++) garbage[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
    await b.write(garbage).catch(() => {});
    await b.closeWrite().catch(() => {});
    await within(session.closed, 5000, `seed ${seed}`);
    assert.ok(session.error === null || session.error instanceof ConnError, `seed ${seed}: ${session.error}`);
    b.close();
  }
});
