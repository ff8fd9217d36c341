import { connect, listen, pipe } from "../mod.ts";
import { testConn } from "../testing/mod.ts";

Deno.test("pipe() keeps the Conn contract", async (t) => {
  await testConn(t, () => pipe());
});

Deno.test("pipe() with a tiny window keeps the Conn contract", async (t) => {
  await testConn(t, () => pipe({ bufferSize: 7 }));
});

Deno.test("named memory listener conns keep the Conn contract", async (t) => {
  using listener = listen({ transport: "memory", name: "conformance" });
  await testConn(t, async () => {
    const dialing = connect({ transport: "memory", name: "conformance" });
    const server = await listener.accept();
    return [await dialing, server];
  });
});

Deno.test("private listener conns keep the Conn contract", async (t) => {
  using listener = listen({ transport: "memory" });
  await testConn(t, async () => {
    const dialing = listener.dialer().dial();
    const server = await listener.accept();
    return [server, await dialing];
  });
});
