/**
 * The worker transport across a real worker of the runtime: an echo, a
 * listener the page or process connects to, a refused name, and a worker
 * terminated in the middle of a transfer.
 */

import {
  ConnClosedError,
  connect,
  ConnectionRefusedError,
  listen,
  portConn,
  type WorkerEndpoint,
} from "../../../mod.ts";
import { check, echo, pattern, peerPort, readAll, sameBytes, simpleLayer, withWorker } from "../suite.ts";

export const workerLayer = simpleLayer("worker", [
  {
    id: "1 MiB echoed by a portConn in a worker",
    run: (host) =>
      withWorker(host, async (worker) => {
        const conn = portConn(peerPort(worker, "echo"));
        const data = pattern(1024 * 1024);
        const reading = readAll(conn);
        await conn.write(data);
        await conn.closeWrite();
        check(sameBytes(await reading, data), "the echo came back changed");
        conn.close();
        await conn.closed;
      }),
  },
  {
    id: "connect to a listener in a worker; a name nobody listens on is refused",
    run: (host) =>
      withWorker(host, async (worker) => {
        const { fields, transfer } = worker.linkCommand();
        worker.send({ cmd: "listen-echo", name: "echo", ...fields }, transfer);
        const conns = await Promise.all(
          Array.from(
            { length: 10 },
            () => connect({ transport: "worker", worker: worker.endpoint, name: "echo" }),
          ),
        );
        await Promise.all(conns.map(async (conn, i) => {
          const data = pattern(10_000 + i);
          const reading = readAll(conn);
          await conn.write(data);
          await conn.closeWrite();
          check(sameBytes(await reading, data), `echo ${i} came back changed`);
          conn.close();
          await conn.closed;
        }));
        const refused = connect({ transport: "worker", worker: worker.endpoint, name: "nobody" });
        const err = await refused.catch((e) => e);
        check(err instanceof ConnectionRefusedError, `expected ConnectionRefusedError, got ${err}`);
      }),
  },
  {
    id: "a conn closed before its other end attached still delivers what it wrote",
    async run() {
      // The port of a channel whose other end has closed says "close" on some runtimes: it must not
      // cut off what was posted before.
      const { port1, port2 } = new MessageChannel();
      const early = portConn(port1);
      const data = pattern(5000);
      await early.write(data);
      early.close();
      await early.closed;
      await new Promise((resolve) => setTimeout(resolve, 50));
      const late = portConn(port2);
      check(sameBytes(await readAll(late), data), "what was written before the close did not arrive whole");
      late.close();
      await late.closed;
    },
  },
  {
    id: "terminating the worker mid-transfer ends the conn with ConnClosedError",
    async run(host) {
      const worker = await host.startWorker();
      const conn = portConn(peerPort(worker, "echo"));
      const chunk = new Uint8Array(64 * 1024);
      const writing = (async () => {
        while (true) await conn.write(chunk);
      })().catch((e) => e);
      // Terminated once bytes have come back: the worker is attached and the
      // transfer under way, however slow the machine (a worker killed before
      // its end attached is another case: its conn never learns of it).
      let flowing!: () => void;
      const echoed = new Promise<void>((resolve) => flowing = resolve);
      const reading = (async () => {
        const buf = new Uint8Array(64 * 1024);
        while ((await conn.read(buf)) !== null) flowing();
        return null;
      })().catch((e) => e);
      await Promise.race([echoed, reading]);
      await worker.terminate();
      const [writeErr, readErr] = await Promise.all([writing, reading]);
      check(writeErr instanceof ConnClosedError, `write: expected ConnClosedError, got ${writeErr}`);
      check(readErr instanceof ConnClosedError, `read: expected ConnClosedError, got ${readErr}`);
      conn.close();
      await conn.closed;
      return `ended with: ${readErr.message}`;
    },
  },
], {
  /** `{ cmd: "echo", port }`: echoes over `portConn(port)`. */
  echo(m) {
    echo(portConn(m.port as MessagePort));
  },
  /**
   * `{ cmd: "listen-echo", name, link? }`: listens on `name` (for the
   * parent, or on the port `link`), answers `{ listening: name }`, echoes
   * every conn.
   */
  async "listen-echo"(m, reply) {
    const worker = (m.link ?? "parent") as WorkerEndpoint;
    const listener = listen({ transport: "worker", worker, name: m.name as string });
    reply({ listening: m.name });
    for await (const conn of listener) echo(conn);
  },
});
