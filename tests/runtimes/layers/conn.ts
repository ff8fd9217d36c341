/**
 * The conformance kit, as a user runs it on any runtime: every Conn check
 * over `pipe()`, over a `QueueConn` pair built by hand (as a transport
 * author does with `@tether/tether/transport`) and over `portConn()` on the
 * runtime's own MessageChannel; every Listener check over memory and worker
 * listeners; and every Conn check again with each byte crossing into a real
 * worker and back.
 */

import { connect, listen, pipe, portConn } from "../../../mod.ts";
import { ByteQueue, QueueConn } from "../../../transport.ts";
import { runConnChecks, runListenerChecks } from "../../../testing/mod.ts";
import { kitRows, type Layer, withWorker } from "../suite.ts";

export const conn: Layer = {
  name: "conn",
  peer: {
    /** `{ cmd: "relay", a, b }`: joins `portConn(a)` and `portConn(b)` both ways. */
    async relay(m) {
      const x = portConn(m.a as MessagePort), y = portConn(m.b as MessagePort);
      await Promise.allSettled([x.readable.pipeTo(y.writable), y.readable.pipeTo(x.writable)]);
      x.close();
      y.close();
    },
  },
  async run(host, report) {
    const onResult = (subject: string) => kitRows("conn", subject, report);
    await runConnChecks(() => pipe(), { onResult: onResult("pipe") });
    await runConnChecks(() => {
      const ab = new ByteQueue({ window: 4096 }), ba = new ByteQueue({ window: 4096 });
      const addr = { transport: "memory", address: "by-hand" };
      return [
        new QueueConn({ localAddr: addr, remoteAddr: addr, inbound: ba, outbound: ab }),
        new QueueConn({ localAddr: addr, remoteAddr: addr, inbound: ab, outbound: ba }),
      ];
    }, { onResult: onResult("QueueConn by hand") });
    await runConnChecks(() => {
      const { port1, port2 } = new MessageChannel();
      return [portConn(port1), portConn(port2)];
    }, { onResult: onResult("portConn") });
    await runListenerChecks(() => {
      const listener = listen({ transport: "memory" });
      return { listener, dialer: listener.dialer() };
    }, { onResult: onResult("memory listener") });
    // Each listener gets a link of its own over a MessageChannel: what a
    // worker and its parent do, in one isolate. The ports of a link stay
    // open (and keep the process alive) until closed, so they are closed
    // once every check is done.
    const links: MessageChannel[] = [];
    await runListenerChecks(() => {
      const link = new MessageChannel();
      links.push(link);
      const name = `kit-${links.length}`;
      return {
        listener: listen({ transport: "worker", worker: link.port1, name }),
        dialer: { dial: (options) => connect({ transport: "worker", worker: link.port2, name, ...options }) },
      };
    }, { onResult: onResult("worker listener") }).finally(() => {
      for (const link of links) {
        link.port1.close();
        link.port2.close();
      }
    });
    await withWorker(host, (worker) =>
      runConnChecks(() => {
        const one = new MessageChannel(), two = new MessageChannel();
        worker.send({ cmd: "relay", a: one.port2, b: two.port2 }, [one.port2, two.port2]);
        return [portConn(one.port1), portConn(two.port1)];
      }, { onResult: onResult("portConn across a worker") }));
  },
};
