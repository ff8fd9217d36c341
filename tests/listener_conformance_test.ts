import { connect, dialer, listen } from "../mod.ts";
import { testListener } from "../testing/mod.ts";
import { inTempDir } from "./socket_helpers.ts";

Deno.test("named memory listeners keep the Listener contract, dialed by name", async (t) => {
  let n = 0;
  await testListener(t, () => {
    const name = `listener-conformance-${++n}`;
    const listener = listen({ transport: "memory", name });
    return { listener, dialer: { dial: (options) => connect({ transport: "memory", name, ...options }) } };
  });
});

Deno.test("private memory listeners keep the Listener contract, dialed through their dialer", async (t) => {
  await testListener(t, () => {
    const listener = listen({ transport: "memory" });
    return { listener, dialer: listener.dialer() };
  });
});

Deno.test("unix listeners keep the Listener contract", async (t) => {
  await inTempDir(async (dir) => {
    let n = 0;
    await testListener(t, async () => {
      const path = `${dir}/l${++n}.sock`;
      return {
        listener: await listen({ transport: "unix", path }),
        dialer: dialer({ transport: "unix", path }),
      };
    });
  });
});

Deno.test("tcp listeners keep the Listener contract", async (t) => {
  await testListener(t, async () => {
    const listener = await listen({ transport: "tcp", hostname: "127.0.0.1", port: 0 });
    const { hostname, port } = listener.addr;
    return { listener, dialer: dialer({ transport: "tcp", hostname, port }) };
  });
});

Deno.test("pipe listeners keep the Listener contract", async (t) => {
  const prefix = `\\\\.\\pipe\\tether-listener-conformance-${crypto.randomUUID()}`;
  let n = 0;
  await testListener(t, async () => {
    const path = `${prefix}-${++n}`;
    return {
      listener: await listen({ transport: "pipe", path }),
      dialer: dialer({ transport: "pipe", path }),
    };
  });
});

Deno.test("socket listeners' own dialer() keeps the Listener contract too", async (t) => {
  await inTempDir(async (dir) => {
    let n = 0;
    await t.step("unix", async (t) => {
      await testListener(t, async () => {
        const listener = await listen({ transport: "unix", path: `${dir}/d${++n}.sock` });
        return { listener, dialer: listener.dialer() };
      });
    });
  });
  await t.step("tcp, listening on every interface: the dialer goes to loopback", async (t) => {
    await testListener(t, async () => {
      const listener = await listen({ transport: "tcp", port: 0 });
      return { listener, dialer: listener.dialer() };
    });
  });
  await t.step("pipe", async (t) => {
    let n = 0;
    await testListener(t, async () => {
      const listener = await listen({
        transport: "pipe",
        path: `\\\\.\\pipe\\tether-own-dialer-${crypto.randomUUID()}-${++n}`,
      });
      return { listener, dialer: listener.dialer() };
    });
  });
});
