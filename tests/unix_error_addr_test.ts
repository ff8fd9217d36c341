// The accepting end of a Unix socket has an unnamed peer: errors name the socket path instead.
import assert from "node:assert/strict";
import { connect, frames, HandshakeError, listen, ProtocolError } from "../mod.ts";
import { secure } from "../crypto/mod.ts";
import { mux } from "../mux/mod.ts";

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
