import { connect, listen, pipe } from "../mod.ts";
import { generateKeyPair, secure } from "../crypto/mod.ts";
import { mux, type Session } from "../mux/mod.ts";
import { testConn } from "../testing/mod.ts";
import type { Conn } from "../conn.ts";

/** A pair of streams, one opened on `client` and accepted on `server`. */
async function streamPair(client: Session, server: Session): Promise<[Conn, Conn]> {
  const opened = await client.open();
  return [opened, await server.accept({ signal: AbortSignal.timeout(10_000) })];
}

Deno.test("mux streams over pipe() keep the Conn contract", async (t) => {
  const [a, b] = pipe();
  const client = mux(a, { role: "client" });
  const server = mux(b, { role: "server" });
  await testConn(t, () => streamPair(client, server));
  client.close();
  server.close();
  await Promise.all([client.closed, server.closed]);
});

Deno.test("mux streams opened by the server keep the Conn contract", async (t) => {
  const [a, b] = pipe();
  const client = mux(a, { role: "client" });
  const server = mux(b, { role: "server" });
  await testConn(t, () => streamPair(server, client));
  client.close();
  server.close();
  await Promise.all([client.closed, server.closed]);
});

Deno.test("mux streams over a Unix socket keep the Conn contract", async (t) => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/mux.sock`;
  const listener = await listen({ transport: "unix", path });
  const dialing = connect({ transport: "unix", path });
  const server = mux(await listener.accept(), { role: "server" });
  const client = mux(await dialing, { role: "client" });
  await testConn(t, () => streamPair(client, server));
  client.close();
  server.close();
  await Promise.all([client.closed, server.closed]);
  listener.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("mux streams over secure() on TCP keep the Conn contract", async (t) => {
  const listener = await listen({ transport: "tcp", hostname: "127.0.0.1", port: 0 });
  const dialing = connect({ transport: "tcp", hostname: "127.0.0.1", port: listener.addr.port! });
  const accepted = await listener.accept();
  const [clientKeys, serverKeys] = await Promise.all([generateKeyPair(), generateKeyPair()]);
  const [c, s] = await Promise.all([
    secure(await dialing, { role: "initiator", pattern: "XX", staticKeyPair: clientKeys }),
    secure(accepted, { role: "responder", pattern: "XX", staticKeyPair: serverKeys }),
  ]);
  const client = mux(c, { role: "client" });
  const server = mux(s, { role: "server" });
  await testConn(t, () => streamPair(client, server));
  client.close();
  server.close();
  await Promise.all([client.closed, server.closed]);
  listener.close();
});
