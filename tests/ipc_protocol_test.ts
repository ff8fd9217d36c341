// tether's ipc protocol, version 2, on the wire: the trips a connect takes,
// versions meeting, and hellos tampered with on the way. The two sides run
// over pipes, some through a relay that sees (and may change) every write.
import assert from "node:assert/strict";
import { type Conn, ConnError, HandshakeError, pipe, ProtocolError } from "../mod.ts";
import { generateKeyPair } from "../crypto/mod.ts";
import { acceptTether, dialTether, type Security, TETHER_IPC_VERSION } from "../ipc/_tether_protocol.ts";
import type { Session } from "../ipc/_session.ts";
import { counting } from "./crypto_helpers.ts";

const HELLO = 16;

/**
 * Two conns joined through a relay: what one side writes reaches the other
 * after `change` (given each chunk and which way it goes) had its say.
 */
function relayed(change: (chunk: Uint8Array, toServer: boolean) => Uint8Array = (c) => c): [Conn, Conn] {
  const [client, clientEnd] = pipe();
  const [serverEnd, server] = pipe();
  const pump = async (from: Conn, to: Conn, toServer: boolean) => {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (let n; (n = await from.read(buf)) !== null;) await to.write(change(buf.slice(0, n), toServer));
      await to.closeWrite();
    } catch {
      to.close();
      from.close();
    }
  };
  pump(clientEnd, serverEnd, true);
  pump(serverEnd, clientEnd, false);
  return [client, server];
}

const context = () => ({ addr: "test:ipc", signal: AbortSignal.timeout(5000) });

function accepting(conn: Conn, security: Security, maxMessageSize = 1024) {
  return acceptTether(conn, context(), { security, maxMessageSize, admit: () => true });
}

async function closeAll(...sessions: Session[]) {
  for (const s of sessions) s.close();
  await Promise.all(sessions.map((s) => s.conn.closed));
}

Deno.test("a connect is one trip each way (two for XX): a message's ephemeral key goes ahead of the DH behind it", async () => {
  const [serverKeys, clientKeys] = await Promise.all([generateKeyPair(), generateKeyPair()]);
  const psk = crypto.getRandomValues(new Uint8Array(32));
  // Writes per side: a Noise message whose ephemeral key a DH follows goes in
  // two writes, the key first (the peer starts its own DH with it); XX's
  // server has the last word, its welcome byte.
  const cases: [string, Security, Security, number, number][] = [
    ["plain", { encryption: false }, { encryption: false }, 1, 1],
    ["NN", { encryption: true }, { encryption: true }, 1, 2],
    ["NNpsk0", { encryption: true, psk }, { encryption: true, psk }, 1, 2],
    [
      "NK",
      { encryption: true, keys: { keyPair: serverKeys } },
      {
        encryption: true,
        keys: { serverKey: serverKeys.publicKey },
      },
      2,
      2,
    ],
    [
      "IK",
      { encryption: true, keys: { keyPair: serverKeys } },
      {
        encryption: true,
        keys: { keyPair: clientKeys, serverKey: serverKeys.publicKey },
      },
      2,
      2,
    ],
    [
      "NX",
      { encryption: true, keys: { keyPair: serverKeys } },
      {
        encryption: true,
        keys: { verifyRemote: () => true },
      },
      1,
      2,
    ],
    [
      "XX",
      { encryption: true, keys: { keyPair: serverKeys, verifyRemote: () => true } },
      {
        encryption: true,
        keys: { keyPair: clientKeys, verifyRemote: () => true },
      },
      2,
      3,
    ],
  ];
  for (const [name, serverSecurity, clientSecurity, clientWrites, serverWrites] of cases) {
    const [a, b] = pipe();
    const client = counting(a), server = counting(b);
    const [dialed, accepted] = await Promise.all([
      dialTether(client.conn, context(), clientSecurity),
      accepting(server.conn, serverSecurity),
    ]);
    assert.equal(client.writes.length, clientWrites, `${name}: the client's writes`);
    assert.equal(server.writes.length, serverWrites, `${name}: the server's writes`);
    // The first write of each side starts with its hello.
    assert.deepEqual([...client.writes[0].subarray(0, 5)], [0x74, 0x69, 0x70, 0x63, TETHER_IPC_VERSION]);
    assert.deepEqual([...server.writes[0].subarray(0, 5)], [0x74, 0x69, 0x70, 0x63, TETHER_IPC_VERSION]);
    if (name !== "plain") {
      // The server's first write: its hello, the Noise message's length, and (sent ahead) its ephemeral key.
      assert.equal(server.writes[0].length, HELLO + 2 + 32, name);
    }
    assert.equal(dialed.maxMessageSize, 1024, name);
    await dialed.send(7, new Uint8Array([1, 2, 3]), undefined);
    assert.deepEqual(await accepted.receive(), { type: 7, data: new Uint8Array([1, 2, 3]) });
    await closeAll(dialed, accepted);
  }
});

Deno.test("an encrypted side whose peer ended the connection closes without an end-of-stream record of its own", async () => {
  const security: Security = { encryption: true };
  const [a, b] = pipe();
  const client = counting(a), server = counting(b);
  // The client's conn closes only when the test says: its end-of-stream
  // record reaches the server well before the end of its conn, as over a
  // socket whose peer is slow to see the hang-up.
  client.conn.close = () => {};
  const [dialed, accepted] = await Promise.all([
    dialTether(client.conn, context(), security),
    accepting(server.conn, security),
  ]);
  const written = server.writes.length;
  dialed.close();
  assert.equal(await accepted.receive(), null, "a clean end");
  accepted.close();
  await accepted.conn.closed;
  // The client hangs up after its record: one of the server's could only fail.
  assert.equal(server.writes.length, written);
  a.close();
  // Before the peer's end, a close still sends the record, and the peer reads a clean end.
  const [c, d] = pipe();
  const other = counting(d);
  const [dialed2, accepted2] = await Promise.all([
    dialTether(c, context(), security),
    accepting(other.conn, security),
  ]);
  const before = other.writes.length;
  accepted2.close();
  assert.equal(await dialed2.receive(), null);
  assert.equal(other.writes.length, before + 1);
  dialed2.close();
  await dialed2.conn.closed;
});

Deno.test("a version 1 client and this server each name both versions", async () => {
  const [a, b] = pipe();
  const accepted = accepting(b, { encryption: true }).catch((e) => e);
  // Version 1's hello: it then waits for the server's.
  await a.write(Uint8Array.of(0x74, 0x69, 0x70, 0x63, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
  const reply = new Uint8Array(HELLO);
  for (let got = 0; got < HELLO;) got += (await a.read(reply.subarray(got)))!;
  assert.deepEqual([...reply.subarray(0, 7)], [0x74, 0x69, 0x70, 0x63, TETHER_IPC_VERSION, 1, 1]);
  a.close();
  const err = await accepted;
  assert.ok(err instanceof HandshakeError, String(err));
  assert.match(
    err.message,
    new RegExp(`client speaks tether ipc version 1 .*server speaks version ${TETHER_IPC_VERSION}`),
  );
});

Deno.test("this client facing a version 1 server names both versions", async () => {
  const [a, b] = pipe();
  const dialed = dialTether(a, context(), { encryption: true }).catch((e) => e);
  const hello = new Uint8Array(HELLO);
  for (let got = 0; got < HELLO;) got += (await b.read(hello.subarray(got)))!;
  assert.equal(hello[4], TETHER_IPC_VERSION);
  // A version 1 server: it read 16 bytes, answers "version mismatch", and closes.
  await b.write(Uint8Array.of(0x74, 0x69, 0x70, 0x63, 1, 1, 1, 0, 0, 0, 0x04, 0, 0, 0, 0, 0));
  b.close();
  const err = await dialed;
  assert.ok(err instanceof HandshakeError, String(err));
  assert.match(
    err.message,
    new RegExp(`client speaks tether ipc version ${TETHER_IPC_VERSION} .*the server speaks version 1`),
  );
});

Deno.test("a server hello changed on the way fails the client: the copy inside the handshake differs", async () => {
  let changed = false;
  const [client, server] = relayed((chunk, toServer) => {
    if (!toServer && !changed) {
      changed = true;
      chunk[9] ^= 0x10; // maxMessageSize, in the clear
    }
    return chunk;
  });
  const accepted = accepting(server, { encryption: true }).catch((e) => e);
  const err = await dialTether(client, context(), { encryption: true }).catch((e) => e);
  assert.ok(err instanceof HandshakeError, String(err));
  assert.match(err.message, /hello was changed on its way/);
  assert.ok(changed);
  // The server finished its half; the client then hung up on it, mid-session.
  const session = await accepted;
  assert.ok(!(session instanceof Error), String(session));
  assert.ok(await session.receive().catch((e: unknown) => e) instanceof ProtocolError);
  session.close();
});

Deno.test("a client hello changed on the way (a downgrade attempt) fails the Noise handshake on both sides", async () => {
  const psk = crypto.getRandomValues(new Uint8Array(32));
  let changed = false;
  const [client, server] = relayed((chunk, toServer) => {
    if (toServer && !changed) {
      changed = true;
      chunk[10] = 1; // a reserved byte the server does not read, but the prologue covers
    }
    return chunk;
  });
  const [dialed, accepted] = await Promise.all([
    dialTether(client, context(), { encryption: true, psk }).catch((e) => e),
    accepting(server, { encryption: true, psk }).catch((e) => e),
  ]);
  assert.ok(changed);
  assert.ok(dialed instanceof HandshakeError, String(dialed));
  assert.ok(accepted instanceof HandshakeError, String(accepted));
});

Deno.test("a plain client that sends before the server's hello is refused, naming what it did", async () => {
  const [a, b] = pipe();
  const accepted = accepting(b, { encryption: false }).catch((e) => e);
  await a.write(
    Uint8Array.of(0x74, 0x69, 0x70, 0x63, TETHER_IPC_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 9, 9),
  );
  const err = await accepted;
  assert.ok(err instanceof HandshakeError, String(err));
  assert.match(err.message, /sent 3 bytes after its hello/);
  a.close();
});

Deno.test("a handshake whose deadline passes ends with the abort's error, and its conn is closed", async () => {
  const [a, b] = pipe();
  const controller = new AbortController();
  const accepted = acceptTether(b, { addr: "test:ipc", signal: controller.signal }, {
    security: { encryption: true },
    maxMessageSize: 1024,
    admit: () => true,
  }).catch((e) => e);
  await a.write(Uint8Array.of(0x74, 0x69, 0x70)); // part of a hello, then nothing
  controller.abort(new ConnError({ code: "ETIMEDOUT", summary: "test deadline", timeout: true }));
  const err = await accepted;
  assert.ok(err instanceof Error);
  assert.equal(await a.read(new Uint8Array(1)), null, "the server's end is closed");
  a.close();
});

Deno.test("a server hello announcing messages over 1 GiB fails the client with a HandshakeError, not a RangeError", async () => {
  const [a, b] = pipe();
  const dialed = dialTether(a, context(), { encryption: false }).catch((e) => e);
  const hello = new Uint8Array(HELLO);
  for (let got = 0; got < HELLO;) got += (await b.read(hello.subarray(got)))!;
  // Version 2, no encryption, verdict ok, and a size no tether server announces.
  const answer = Uint8Array.of(
    0x74,
    0x69,
    0x70,
    0x63,
    TETHER_IPC_VERSION,
    0,
    0,
    0,
    0xff,
    0xff,
    0xff,
    0xff,
    0,
    0,
    0,
    0,
  );
  await b.write(answer);
  const err = await dialed;
  assert.ok(err instanceof HandshakeError, String(err));
  assert.match(err.message, /announced messages of up to 4294967295 bytes/);
  b.close();
});
