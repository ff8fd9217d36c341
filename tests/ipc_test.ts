import assert from "node:assert/strict";
import {
  ConnClosedError,
  connect,
  ConnError,
  HandshakeError,
  MessageTooLargeError,
  ProtocolError,
} from "../mod.ts";
import { generateKeyPair } from "../crypto/mod.ts";
import { connectClient, type IpcStatusEvent, serve, type ServerClient } from "../ipc/mod.ts";
import { socketDir } from "../ipc/_address.ts";
import { TETHER_IPC_VERSION } from "../ipc/_tether_protocol.ts";
import { decoder, encoder, nextError, nextStatus, payload, same, settle, uniqueName } from "./ipc_helpers.ts";

Deno.test("a client and a server exchange typed messages both ways, encrypted by default", async () => {
  const name = uniqueName();
  await using server = await serve({ name });
  assert.equal(server.status, "listening");
  assert.equal(server.addr.address, `${socketDir()}/${name}.sock`);
  await using client = connectClient({ name });
  assert.equal(client.status, "connecting");
  await client.ready;
  assert.equal(client.status, "connected");
  await client.write(7, encoder.encode("hello"));
  const { client: peer, message } = await server.read();
  assert.deepEqual([message.type, decoder.decode(message.data)], [7, "hello"]);
  await peer.write(0xffff_ffff, encoder.encode("largest type"));
  const reply = await client.read();
  assert.deepEqual([reply.type, decoder.decode(reply.data)], [0xffff_ffff, "largest type"]);
  await client.write(1, new Uint8Array(0));
  assert.equal((await server.read()).message.data.length, 0);
});

Deno.test("the socket file has mode 0600 unless widened, and close() removes it", async () => {
  const name = uniqueName();
  const server = await serve({ name });
  assert.equal((await Deno.stat(server.addr.address)).mode! & 0o777, 0o600);
  server.close();
  await server.closed;
  await assert.rejects(Deno.stat(server.addr.address), Deno.errors.NotFound);
  await using wide = await serve({ name, mode: 0o660 });
  assert.equal((await Deno.stat(wide.addr.address)).mode! & 0o777, 0o660);
});

Deno.test("message types outside 1..2^32-1 are clear errors and nothing is sent", async () => {
  const name = uniqueName();
  await using server = await serve({ name });
  await using client = connectClient({ name });
  await client.ready;
  for (const type of [0, -1, 2 ** 32, 1.5, NaN]) {
    const err = await client.write(type, new Uint8Array(1)).catch((e) => e);
    assert.ok(err instanceof RangeError, `type ${type}: ${err}`);
    assert.match(err.message, /1 to 4294967295 \(0 is reserved\)/);
  }
  await assert.rejects(client.write("1" as unknown as number, new Uint8Array(1)), TypeError);
  await assert.rejects(client.write(1, "text" as unknown as Uint8Array), TypeError);
  await client.write(2, encoder.encode("after"));
  const { message } = await server.read();
  assert.equal(message.type, 2, "no bad message got through");
});

Deno.test("the server tells its maxMessageSize and both sides enforce it", async () => {
  const name = uniqueName();
  await using server = await serve({ name, maxMessageSize: 1024 });
  await using client = connectClient({ name });
  await client.ready;
  assert.equal(client.maxMessageSize, 1024);
  await client.write(1, new Uint8Array(1024));
  const { client: peer } = await server.read();
  const err = await client.write(1, new Uint8Array(1025)).catch((e) => e);
  assert.ok(err instanceof MessageTooLargeError);
  assert.equal(err.limit, 1024);
  await assert.rejects(peer.write(1, new Uint8Array(1025)), MessageTooLargeError);
  assert.equal(client.status, "connected", "a refused write leaves the connection alone");
});

Deno.test("a receiver refuses an oversize message from a peer that ignores the limit", async () => {
  // A raw plain-protocol client announcing more than the server allows.
  const name = uniqueName();
  await using server = await serve({ name, maxMessageSize: 64, encryption: false });
  const closedEvent = nextStatus(server, "closed");
  const conn = await connect({ transport: "unix", path: server.addr.address });
  await conn.write(
    Uint8Array.of(0x74, 0x69, 0x70, 0x63, TETHER_IPC_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
  );
  const hello = new Uint8Array(16);
  for (let got = 0; got < 16;) got += (await conn.read(hello.subarray(got)))!;
  assert.equal(hello[6], 0, "admitted");
  assert.equal(new DataView(hello.buffer).getUint32(8), 64);
  const frame = new Uint8Array(8 + 100);
  new DataView(frame.buffer).setUint32(0, 100);
  new DataView(frame.buffer).setUint32(4, 1);
  await conn.write(frame);
  const event = await closedEvent;
  assert.ok(event.error instanceof MessageTooLargeError, String(event.error));
  assert.equal(await conn.read(new Uint8Array(1)), null, "the server closed that connection");
  conn.close();
  assert.equal(server.status, "listening");
});

Deno.test("a second client of a one-client server is refused with a clear error, not left mute", async () => {
  const name = uniqueName();
  await using server = await serve({ name });
  await using first = connectClient({ name });
  await first.ready;
  const refused = nextError(server);
  await using second = connectClient({ name, timeout: 300, retryDelay: 50 });
  const err = await second.ready.catch((e) => e);
  assert.equal(second.status, "timeout");
  assert.ok(err instanceof ConnError && err.timeout);
  assert.match(err.message, /one client at a time/);
  // The server did answer: the message must not say nobody did.
  assert.match(err.message, /no connection was made within the timeout/);
  const serverSide = await refused;
  assert.ok(serverSide instanceof ConnError && serverSide.code === "EBUSY");
  // Once the first leaves, a new client gets in.
  first.close();
  await nextStatus(server, "closed");
  await using third = connectClient({ name, timeout: 5000, retryDelay: 20 });
  await third.ready;
  await third.write(3, new Uint8Array(1));
  assert.equal((await server.read()).message.type, 3);
});

Deno.test("multiClient: messages of all clients merge fairly; a flooding client does not starve a slow one", async () => {
  const name = uniqueName();
  await using server = await serve({ name, multiClient: true });
  await using flood = connectClient({ name });
  await using slow = connectClient({ name });
  await Promise.all([flood.ready, slow.ready]);
  // The flood is written first and waits at the server; the slow client's
  // one message arrives after it, and still comes out among the first two.
  for (let i = 0; i < 1000; i++) await flood.write(1, new Uint8Array(100));
  await new Promise((r) => setTimeout(r, 100));
  await slow.write(2, encoder.encode("me too"));
  await new Promise((r) => setTimeout(r, 100));
  let before = 0;
  for (;;) {
    const { message } = await server.read();
    if (message.type === 2) break;
    before++;
  }
  assert.ok(before <= 1, `the slow client's message came after ${before} flood messages`);
  assert.equal(server.clients.size, 2);
  for (let i = before; i < 1000; i++) await server.read();
});

Deno.test("broadcast reaches every client; server.clients and status events track them", async () => {
  const name = uniqueName();
  await using server = await serve({ name, multiClient: true });
  const joined: ServerClient[] = [];
  server.addEventListener("statuschange", (e) => {
    const event = e as IpcStatusEvent<ServerClient>;
    if (event.status === "connected") joined.push(event.client!);
  });
  const clients = [connectClient({ name }), connectClient({ name }), connectClient({ name })];
  await Promise.all(clients.map((c) => c.ready));
  while (server.clients.size < 3) await new Promise((r) => setTimeout(r, 5));
  assert.equal(joined.length, 3);
  assert.equal(await server.broadcast(9, encoder.encode("all")), 3);
  for (const c of clients) assert.equal(decoder.decode((await c.read()).data), "all");
  await assert.rejects(server.write(1, new Uint8Array(1)), TypeError);
  const left = nextStatus(server, "closed");
  clients[0].close();
  const event = await left;
  assert.ok(joined.includes(event.client as ServerClient));
  assert.equal(server.clients.size, 2);
  for (const c of clients) c.close();
});

Deno.test("close() rejects pending reads and writes with ConnClosedError on both sides", async () => {
  const name = uniqueName();
  const server = await serve({ name });
  const client = connectClient({ name });
  await client.ready;
  const pendingClientRead = settle(client.read());
  const pendingServerRead = settle(server.read());
  client.close();
  const r = await pendingClientRead;
  assert.ok("error" in r && r.error instanceof ConnClosedError);
  await assert.rejects(client.write(1, new Uint8Array(1)), ConnClosedError);
  assert.equal(client.status, "closed");
  await client.closed;
  server.close();
  const s = await pendingServerRead;
  assert.ok("error" in s && s.error instanceof ConnClosedError);
  await server.closed;
  // for await ends quietly on a closed client.
  for await (const _ of client) assert.fail("no message after close");
});

Deno.test("a queued write waits for the connection; past maxQueuedWrites writes reject at once", async () => {
  const name = uniqueName();
  await using client = connectClient({ name, retryDelay: 20, maxQueuedWrites: 2 });
  const first = client.write(1, encoder.encode("one"));
  const aborted = await client.write(4, new Uint8Array(1), { signal: AbortSignal.timeout(10) }).catch((e) =>
    e
  );
  assert.equal(aborted.name, "TimeoutError", "an aborted queued write leaves the queue");
  const second = client.write(2, encoder.encode("two"));
  const err = await client.write(3, encoder.encode("three")).catch((e) => e);
  assert.ok(err instanceof ConnError && err.code === "ENOBUFS", String(err));
  assert.match(err.message, /write queue full: 2 writes already wait/);
  await using server = await serve({ name });
  await Promise.all([first, second]);
  assert.equal((await server.read()).message.type, 1);
  assert.equal((await server.read()).message.type, 2);
});

Deno.test("with no server, a connect with a timeout ends in status timeout with a clear error", async () => {
  const name = uniqueName();
  const client = connectClient({ name, timeout: 200, retryDelay: 30 });
  const statuses: string[] = [];
  client.addEventListener("statuschange", (e) => statuses.push((e as IpcStatusEvent).status));
  const err = await client.ready.catch((e) => e);
  assert.equal(client.status, "timeout");
  assert.deepEqual(statuses, ["timeout"]);
  assert.ok(err instanceof ConnError);
  assert.equal(err.code, "ETIMEDOUT");
  assert.equal(err.timeout, true);
  assert.match(err.message, /timed out \(no connection was made within the timeout of 200 ms/);
  assert.match(err.message, new RegExp(name));
  await assert.rejects(client.read(), (e) => e === err);
  await assert.rejects(client.write(1, new Uint8Array(1)), (e) => e === err);
  client.close();
  assert.equal(client.status, "closed");
});

Deno.test("a client reconnects by itself when its server restarts, with a fresh handshake", async () => {
  const name = uniqueName();
  let server = await serve({ name });
  await using client = connectClient({ name, retryDelay: 20 });
  await client.ready;
  await client.write(1, new Uint8Array(1));
  await server.read();
  const reconnecting = nextStatus(client, "reconnecting");
  server.close();
  await server.closed;
  const event = await reconnecting;
  assert.ok(event.error instanceof ConnClosedError, String(event.error));
  const connected = nextStatus(client, "connected");
  server = await serve({ name });
  try {
    await connected;
    await client.write(2, encoder.encode("again"));
    const { message } = await server.read();
    assert.equal(decoder.decode(message.data), "again");
  } finally {
    server.close();
  }
});

Deno.test("an encryption mismatch is a HandshakeError naming both sides' versions and wishes", async () => {
  const name = uniqueName();
  await using server = await serve({ name, encryption: false });
  const serverError = nextError(server);
  await using client = connectClient({ name });
  const err = await client.ready.catch((e) => e);
  assert.ok(err instanceof HandshakeError);
  assert.equal(client.status, "error");
  assert.match(
    err.message,
    new RegExp(
      `client speaks tether ipc version ${TETHER_IPC_VERSION} and wants encryption without authentication`,
    ),
  );
  assert.match(
    err.message,
    new RegExp(`server speaks version ${TETHER_IPC_VERSION} and wants no encryption`),
  );
  const theirs = await serverError;
  assert.ok(theirs instanceof HandshakeError);
  assert.match((theirs as Error).message, /wants no encryption/);
  assert.equal(server.status, "listening");
});

Deno.test("a wrong PSK fails the handshake on both sides; the server carries on", async () => {
  const name = uniqueName();
  const psk = crypto.getRandomValues(new Uint8Array(32));
  await using server = await serve({ name, psk });
  const serverError = nextError(server);
  await using intruder = connectClient({ name, psk: new Uint8Array(32) });
  const err = await intruder.ready.catch((e) => e);
  assert.ok(err instanceof HandshakeError, String(err));
  assert.ok(await serverError instanceof HandshakeError);
  await using friend = connectClient({ name, psk });
  await friend.ready;
  await friend.write(1, encoder.encode("in"));
  assert.equal(decoder.decode((await server.read()).message.data), "in");
});

Deno.test("static keys: a client pins its server (IK) or verifies it (XX); an unknown client key is refused", async () => {
  const name = uniqueName();
  const [serverKeys, alice, mallory] = await Promise.all([
    generateKeyPair(),
    generateKeyPair(),
    generateKeyPair(),
  ]);
  const known = (key: Uint8Array) => same(key, alice.publicKey);
  await using server = await serve({
    name,
    multiClient: true,
    keys: { keyPair: serverKeys, verifyRemote: known },
  });
  await using ik = connectClient({ name, keys: { keyPair: alice, serverKey: serverKeys.publicKey } });
  await ik.ready;
  assert.ok(same(ik.remoteStaticKey!, serverKeys.publicKey));
  await ik.write(1, encoder.encode("ik"));
  const first = await server.read();
  assert.ok(same(first.client.remoteStaticKey!, alice.publicKey));
  await using xx = connectClient({
    name,
    keys: { keyPair: alice, verifyRemote: (key) => same(key, serverKeys.publicKey) },
  });
  await xx.ready;
  for (
    const keys of [
      { keyPair: mallory, serverKey: serverKeys.publicKey },
      { keyPair: mallory, verifyRemote: () => true },
    ]
  ) {
    const refused = nextError(server);
    await using stranger = connectClient({ name, keys });
    const err = await stranger.ready.catch((e) => e);
    assert.ok(err instanceof HandshakeError, String(err));
    assert.ok(await refused instanceof HandshakeError);
  }
  // A client without a key pair can't reach a server that checks client keys.
  await using anonymous = connectClient({ name, keys: { serverKey: serverKeys.publicKey } });
  const err = await anonymous.ready.catch((e) => e);
  assert.match(err.message, /each client must bring a key pair/);
});

Deno.test("a client that reaches the wrong server (a key it does not expect) fails, and says so", async () => {
  const name = uniqueName();
  const [impostor, real] = await Promise.all([generateKeyPair(), generateKeyPair()]);
  await using _server = await serve({ name, keys: { keyPair: impostor } });
  await using client = connectClient({ name, keys: { serverKey: real.publicKey } });
  assert.ok(await client.ready.catch((e) => e) instanceof HandshakeError);
});

Deno.test("garbage instead of a hello, and a client that says nothing, are dropped within the handshake deadline", async () => {
  const name = uniqueName();
  await using server = await serve({ name, handshakeTimeout: 200, multiClient: true });
  await using good = connectClient({ name });
  await good.ready;
  const garbageError = nextError(server);
  const garbage = await connect({ transport: "unix", path: server.addr.address });
  await garbage.write(encoder.encode("GET / HTTP/1.1\r\n\r\n"));
  const err = await garbageError;
  assert.ok(err instanceof HandshakeError);
  assert.match((err as Error).message, /not a tether ipc client: it sent 47 45 54/);
  assert.equal(await garbage.read(new Uint8Array(64)), null);
  garbage.close();
  const silentError = nextError(server);
  const silent = await connect({ transport: "unix", path: server.addr.address });
  const silentErr = await silentError;
  assert.ok(silentErr instanceof ConnError && silentErr.timeout, String(silentErr));
  assert.equal(await silent.read(new Uint8Array(1)), null, "the silent client was dropped");
  silent.close();
  // The good client was never disturbed.
  await good.write(1, encoder.encode("still fine"));
  assert.equal(decoder.decode((await server.read()).message.data), "still fine");
});

Deno.test("a truncated frame or a reserved control byte from a client drops that client only", async () => {
  const name = uniqueName();
  await using server = await serve({ name, encryption: false, multiClient: true });
  await using good = connectClient({ name, encryption: false });
  await good.ready;
  for (const bad of [Uint8Array.of(0, 0, 0, 9, 0, 0, 0, 1, 1, 2), Uint8Array.of(0, 0, 0, 1, 0, 0, 0, 0, 7)]) {
    const conn = await connect({ transport: "unix", path: server.addr.address });
    await conn.write(
      Uint8Array.of(0x74, 0x69, 0x70, 0x63, TETHER_IPC_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
    );
    const closed = nextStatus(server, "closed");
    for (let got = 0; got < 16;) got += (await conn.read(new Uint8Array(16 - got)))!;
    await conn.write(bad);
    await conn.closeWrite();
    const event = await closed;
    assert.ok(event.error instanceof ProtocolError, String(event.error));
    conn.close();
  }
  await good.write(5, new Uint8Array(3));
  assert.equal((await server.read()).message.type, 5);
});

Deno.test("bad options are TypeErrors before anything opens", async () => {
  await assert.rejects(serve({ name: "" }), TypeError);
  await assert.rejects(serve({ name: "a/b" }), TypeError);
  await assert.rejects(serve({ name: "x", psk: new Uint8Array(3) }), RangeError);
  await assert.rejects(serve({ name: "x", encryption: false, psk: new Uint8Array(32) }), TypeError);
  await assert.rejects(serve({ name: "x", protocol: "grpc" as "tether" }), TypeError);
  assert.throws(
    () => connectClient({ name: "x", keys: { keyPair: undefined } }),
    /serverKey .* or verifyRemote/,
  );
  assert.throws(
    () => connectClient({ name: "x", protocol: "golang-ipc", psk: new Uint8Array(32) }),
    /unauthenticated/,
  );
});

Deno.test("a server name already served is AddrInUseError, and the first server keeps it", async () => {
  const name = uniqueName();
  await using first = await serve({ name });
  await assert.rejects(serve({ name }), (e) => e instanceof ConnError && e.code === "EADDRINUSE");
  await using client = connectClient({ name });
  await client.ready;
  assert.equal(first.status, "listening");
});

Deno.test("TETHER_DEBUG logs lifecycle events to stderr and never message contents", async () => {
  const name = uniqueName();
  const code = `
    import { connectClient, serve } from "${new URL("../ipc/mod.ts", import.meta.url).href}";
    await using server = await serve({ name: "${name}" });
    await using client = connectClient({ name: "${name}" });
    await client.write(1, new TextEncoder().encode("SECRET-CONTENTS"));
    await server.read();
  `;
  const run = (level: string) =>
    new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      env: { TETHER_DEBUG: level },
      stderr: "piped",
      stdout: "piped",
    }).output();
  const debug = await run("debug");
  assert.equal(debug.code, 0, decoder.decode(debug.stderr));
  const text = decoder.decode(debug.stderr);
  assert.match(text, /\[tether ipc\] \S+ info server .*: listening/);
  assert.match(text, /debug client .*: dialing unix:/);
  assert.match(text, /info client .*: connected to unix:/);
  assert.doesNotMatch(text, /SECRET-CONTENTS/);
  const quiet = await run("error");
  assert.equal(decoder.decode(quiet.stderr), "");
});

Deno.test("ipc runs over TCP with the same API", async () => {
  await using server = await serve({ name: "tcp-test", transport: "tcp", port: 0 });
  const port = server.addr.port!;
  await using client = connectClient({ name: "tcp-test", transport: "tcp", port });
  await client.write(1, payload(1, 5000));
  assert.ok(same((await server.read()).message.data, payload(1, 5000)));
});

Deno.test("a lost connection reports the resolved writes the peer's application had not confirmed reading", async () => {
  const name = uniqueName();
  let server = await serve({ name });
  await using client = connectClient({ name, retryDelay: 20 });
  await client.ready;
  for (let i = 0; i < 300; i++) await client.write(1, new Uint8Array(8));
  for (let i = 0; i < 300; i++) await server.read();
  await new Promise((r) => setTimeout(r, 100)); // the last confirmation goes 20 ms after the last read
  let lost = nextStatus(client, "reconnecting");
  server.close();
  assert.equal((await lost).unconfirmed, 0, "all 300 were read and confirmed");
  server = await serve({ name });
  try {
    await nextStatus(client, "connected");
    for (let i = 0; i < 50; i++) await client.write(1, new Uint8Array(8));
    await new Promise((r) => setTimeout(r, 100)); // delivered to the server, never read
    lost = nextStatus(client, "reconnecting");
    server.close();
    assert.equal((await lost).unconfirmed, 50, "none of the 50 was read");
  } finally {
    server.close();
  }
});

Deno.test("over TCP too, a refused client reads the server's hello (its first Noise message is drained, not reset)", async () => {
  await using server = await serve({ name: "tcp-refusal", transport: "tcp", port: 0, encryption: false });
  const serverError = nextError(server);
  await using client = connectClient({ name: "tcp-refusal", transport: "tcp", port: server.addr.port! });
  const err = await client.ready.catch((e) => e);
  assert.ok(err instanceof HandshakeError, String(err));
  assert.match(err.message, /the server speaks version \d+ and wants no encryption/);
  assert.ok(await serverError instanceof HandshakeError);
});

Deno.test({
  name:
    "an encrypted client's closed resolves once its end-of-stream record is written and its socket released",
  ignore: Deno.build.os !== "linux", // reads /proc, in a child with --allow-all (which Deno asks for that)
  async fn() {
    const child = new URL("./fixtures/ipc_closed_child.ts", import.meta.url).pathname;
    const out = await new Deno.Command(Deno.execPath(), { args: ["run", "-A", child], stdout: "piped" })
      .output();
    assert.ok(out.success, "the child ran");
    const results = JSON.parse(new TextDecoder().decode(out.stdout));
    assert.equal(results.length, 3);
    for (const { found, openAfterClosed, serverError } of results) {
      assert.equal(found, 1, "the client's socket is found");
      assert.equal(openAfterClosed, false, "the socket is closed by then");
      // The server saw a clean end: the end-of-stream record came before the socket's end.
      assert.equal(serverError, null);
    }
  },
});
