import { connect, listen } from "../mod.ts";
import { testConn } from "../testing/mod.ts";

Deno.test("unix socket conns keep the Conn contract", async (t) => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/conformance.sock`;
  await using listener = await listen({ transport: "unix", path });
  await testConn(t, async () => {
    const dialing = connect({ transport: "unix", path });
    const server = await listener.accept();
    return [await dialing, server];
  });
  listener.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("tcp conns keep the Conn contract", async (t) => {
  await using listener = await listen({ transport: "tcp", hostname: "127.0.0.1", port: 0 });
  const port = Number(listener.addr.address.split(":")[1]);
  await testConn(t, async () => {
    const dialing = connect({ transport: "tcp", hostname: "127.0.0.1", port });
    const server = await listener.accept();
    return [server, await dialing];
  });
});

Deno.test("named pipe conns keep the Conn contract", async (t) => {
  const path = `\\\\.\\pipe\\tether-conformance-${crypto.randomUUID()}`;
  await using listener = await listen({ transport: "pipe", path });
  await testConn(t, async () => {
    const dialing = connect({ transport: "pipe", path });
    const server = await listener.accept();
    return [await dialing, server];
  });
});
