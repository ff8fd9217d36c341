// Every error names the address: the accepting end of a Unix socket (whose peer is unnamed) the socket
// path, a record layer cut short the conn it came on.
import assert from "node:assert/strict";
import { ConnClosedError, connect, frames, HandshakeError, listen, pipe, ProtocolError } from "../mod.ts";
import { secure } from "../crypto/mod.ts";
import { mux } from "../mux/mod.ts";
import { retryable } from "../ipc/_session.ts";

Deno.test("errors of frames(), secure() and mux() on the accepting end of a Unix socket name the socket path", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/app.sock`;
  try {
    await using listener = await listen({ transport: "unix", path });
    const where = `unix:${path}`;
    const bad = async () => {
      const client = await connect({ transport: "unix", path });
      await client.write(new Uint8Array([0, 0, 0, 9, 1])); // a frame cut short, or a bad handshake
      await client.closeWrite();
      const server = await listener.accept();
      return { client, server };
    };

    const f = await bad();
    const framed = frames(f.server);
    const received = await framed.receive().catch((e) => e);
    assert.ok(received instanceof ProtocolError, `${received}`);
    assert.ok(received.message.startsWith(`receive ${where}: `), received.message);
    framed.close(), f.client.close();

    const s = await bad();
    const handshake = await secure(s.server, { role: "responder" }).catch((e) => e);
    assert.ok(handshake instanceof HandshakeError, `${handshake}`);
    assert.ok(handshake.message.startsWith(`handshake ${where}: `), handshake.message);
    s.server.close(), s.client.close();

    const m = await bad();
    const session = mux(m.server, { role: "server" });
    await session.closed;
    assert.ok(session.error instanceof ProtocolError, `${session.error}`);
    assert.ok(session.error.message.startsWith(`receive ${where}: `), session.error.message);
    m.client.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a secure() conn whose peer vanishes inside a record rejects reads with a ProtocolError naming the address", async () => {
  const [a, b] = pipe();
  const [client, server] = await Promise.all([
    secure(a, { role: "initiator" }),
    secure(b, { role: "responder" }),
  ]);
  // Under the records: a length prefix announcing 100 bytes, 10 of them, then the conn ends.
  await b.write(new Uint8Array([0, 100, ...new Uint8Array(10)]));
  b.close();
  const err = await client.read(new Uint8Array(10)).catch((e) => e);
  assert.ok(err instanceof ProtocolError, `${err}`);
  assert.match(
    err.message,
    /^receive memory:pipe: protocol error \(truncated: the connection ended 10 bytes into a 100-byte frame\)/,
  );
  client.close(), server.close();
});

Deno.test("a secure() conn on the accepting end of a Unix socket names the socket path when closed, as its records do", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/app.sock`;
  try {
    await using listener = await listen({ transport: "unix", path });
    const dialing = connect({ transport: "unix", path });
    const accepted = await listener.accept();
    const [client, server] = await Promise.all([
      secure(await dialing, { role: "initiator" }),
      secure(accepted, { role: "responder" }),
    ]);
    server.close();
    const err = await server.write(new Uint8Array(1)).catch((e) => e);
    assert.ok(err instanceof ConnClosedError, `${err}`);
    assert.ok(err.message.startsWith(`write unix:${path}: `), err.message);
    client.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a handshake cut short says so once, naming the address once", async () => {
  const [a, b] = pipe();
  const handshake = secure(b, { role: "responder" }).catch((e) => e);
  await a.write(new Uint8Array([0, 32, 1, 2, 3]));
  a.close();
  const err = await handshake;
  assert.ok(err instanceof HandshakeError, `${err}`);
  assert.equal(
    err.message,
    "handshake memory:pipe: handshake failed (truncated: the connection ended 3 bytes into a 32-byte frame)",
  );
});

Deno.test("a handshake whose conn ends says so in its cause, which ipc's client retries on", async () => {
  const [a, b] = pipe();
  const handshake = secure(b, { role: "responder" }).catch((e) => e);
  a.close();
  const err = await handshake;
  assert.ok(err instanceof HandshakeError, `${err}`);
  assert.ok(err.cause instanceof ConnClosedError, `${err.cause}`);
  assert.equal(retryable(err), true);
});

Deno.test("a record too short for its tag is a ProtocolError naming the conn it came on", async () => {
  const [a, b] = pipe();
  const [client] = await Promise.all([secure(a, { role: "initiator" }), secure(b, { role: "responder" })]);
  // Under the records: a 5-byte record, too short for a 16-byte tag.
  await b.write(new Uint8Array([0, 5, 1, 2, 3, 4, 5]));
  const err = await client.read(new Uint8Array(10)).catch((e) => e);
  assert.ok(err instanceof ProtocolError, `${err}`);
  assert.match(
    err.message,
    /^receive memory:pipe: protocol error \(a 5-byte record cannot hold its 16-byte tag\)/,
  );
  client.close();
});
