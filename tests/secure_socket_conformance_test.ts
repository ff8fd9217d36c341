import { connect, listen } from "../mod.ts";
import { generateKeyPair, secure } from "../crypto/mod.ts";
import { testConn } from "../testing/mod.ts";

Deno.test("secure() over a Unix socket keeps the Conn contract (XX, AESGCM)", async (t) => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/secure.sock`;
  await using listener = await listen({ transport: "unix", path });
  const [clientKeys, serverKeys] = await Promise.all([generateKeyPair(), generateKeyPair()]);
  await testConn(t, async () => {
    const dialing = connect({ transport: "unix", path });
    const server = await listener.accept();
    return await Promise.all([
      secure(await dialing, { role: "initiator", pattern: "XX", staticKeyPair: clientKeys }),
      secure(server, { role: "responder", pattern: "XX", staticKeyPair: serverKeys }),
    ]);
  });
  listener.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("secure() over TCP keeps the Conn contract (NNpsk0, ChaChaPoly)", async (t) => {
  const psk = crypto.getRandomValues(new Uint8Array(32));
  await using listener = await listen({ transport: "tcp", hostname: "127.0.0.1", port: 0 });
  const port = Number(listener.addr.address.split(":")[1]);
  await testConn(t, async () => {
    const dialing = connect({ transport: "tcp", hostname: "127.0.0.1", port });
    const server = await listener.accept();
    const options = { pattern: "NNpsk0", psk, cipher: "ChaChaPoly" } as const;
    return await Promise.all([
      secure(await dialing, { ...options, role: "initiator" }),
      secure(server, { ...options, role: "responder" }),
    ]);
  });
});
