import { connect, listen, portConn } from "../mod.ts";
import { testConn, testListener } from "../testing/mod.ts";
import { localPair, startPeer } from "./worker_helpers.ts";

Deno.test("portConn() over a MessageChannel in one isolate keeps the Conn contract", async (t) => {
  await testConn(t, () => localPair());
});

Deno.test("portConn() with a 1000-byte window keeps the Conn contract (credit granted 500 bytes at a time)", async (t) => {
  await testConn(t, () => localPair({ bufferSize: 1000 }));
});

Deno.test("portConn() across a worker keeps the Conn contract (every byte crosses into the worker and back)", async (t) => {
  // The kit drives both ends from here, so each pair is two conns into the
  // worker, joined there by a relay: a ⇄ [x ⇄ y in the worker] ⇄ b.
  await using peer = startPeer();
  await testConn(t, () => {
    const one = new MessageChannel(), two = new MessageChannel();
    peer.send({ cmd: "relay", a: one.port2, b: two.port2 }, [one.port2, two.port2]);
    return [portConn(one.port1), portConn(two.port1)];
  });
});

Deno.test("worker listeners keep the Listener contract (listener and dialer on the two ends of a MessageChannel)", async (t) => {
  // A link over a MessageChannel: what a worker and its parent do, in one
  // isolate. Its ports stay open until closed, once every check is done.
  const links: MessageChannel[] = [];
  try {
    await testListener(t, () => {
      const link = new MessageChannel();
      links.push(link);
      const name = `conformance-${links.length}`;
      return {
        listener: listen({ transport: "worker", worker: link.port1, name }),
        dialer: { dial: (options) => connect({ transport: "worker", worker: link.port2, name, ...options }) },
      };
    });
  } finally {
    for (const link of links) {
      link.port1.close();
      link.port2.close();
    }
  }
});
