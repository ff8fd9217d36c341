import { connect, listen } from "../mod.ts";
import { testConn, testListener } from "../testing/mod.ts";
import { virtualNetwork } from "../vnet/mod.ts";

Deno.test("connections through the virtual network keep the Conn contract", async (t) => {
  await using net = virtualNetwork({ seed: 1 });
  using listener = net.listen({ hostname: "conformance.internal", port: 7000 });
  const dialer = listener.dialer();
  await testConn(t, async () => {
    const client = await dialer.dial();
    return [client, await listener.accept()];
  });
});

Deno.test("connections through the virtual network keep the Conn contract with bytes sliced into random pieces", async (t) => {
  await using net = virtualNetwork({ seed: 2 });
  using listener = net.listen({ hostname: "faulty.internal", port: 7001 });
  using _slices = net.fault({ hostname: "faulty.internal" }, {
    type: "slice",
    averageSize: 700,
    variation: 600,
  });
  const dialer = listener.dialer();
  await testConn(t, async () => {
    const client = await dialer.dial();
    return [client, await listener.accept()];
  });
});

Deno.test("tether's own tcp transport keeps the Conn contract over Deno.connect and Deno.listen patched", async (t) => {
  await using _net = virtualNetwork({ seed: 3 });
  await using listener = await listen({ transport: "tcp", hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  await testConn(t, async () => {
    const dialing = connect({ transport: "tcp", hostname: "localhost", port });
    const server = await listener.accept();
    return [await dialing, server];
  });
});

Deno.test("virtual network listeners keep the Listener contract", async (t) => {
  await using net = virtualNetwork({ seed: 4 });
  await testListener(t, () => {
    const listener = net.listen({ hostname: "listeners.internal" });
    return { listener, dialer: listener.dialer() };
  });
});
