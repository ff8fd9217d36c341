/**
 * The mux (`@tether/tether/mux`): the conformance kit over mux streams on a
 * `pipe()`, and a session over a worker conn whose streams a mux server in
 * the worker echoes.
 */

import { pipe, portConn } from "../../../mod.ts";
import { mux } from "../../../mux/mod.ts";
import { runConnChecks } from "../../../testing/mod.ts";
import {
  check,
  echo,
  kitRows,
  type Layer,
  pattern,
  peerPort,
  readAll,
  sameBytes,
  simpleLayer,
  withWorker,
} from "../suite.ts";

export const muxLayer: Layer = {
  name: "mux",
  peer: {
    /** `{ cmd: "mux-echo", port }`: a mux server over `portConn(port)` that echoes every stream. */
    async "mux-echo"(m) {
      const session = mux(portConn(m.port as MessagePort), { role: "server" });
      for await (const stream of session) echo(stream);
    },
  },
  async run(host, report) {
    const [a, b] = pipe();
    const client = mux(a, { role: "client" }), server = mux(b, { role: "server" });
    await runConnChecks(async () => {
      const opened = await client.open();
      return [opened, await server.accept({ signal: AbortSignal.timeout(10_000) })];
    }, { onResult: kitRows("mux", "streams over pipe()", report) });
    client.close();
    server.close();
    await Promise.all([client.closed, server.closed]);

    await workerCheck.run(host, report);
  },
};

/** Eight streams of a session over a worker conn, echoed by a mux server in the worker. */
const workerCheck = simpleLayer("mux", [{
  id: "8 streams echoed by a mux server in a worker",
  run: (host) =>
    withWorker(host, async (worker) => {
      const session = mux(portConn(peerPort(worker, "mux-echo")), { role: "client" });
      await Promise.all(Array.from({ length: 8 }, async (_, i) => {
        const stream = await session.open();
        const data = pattern(50_000 + i);
        const reading = readAll(stream);
        await stream.write(data);
        await stream.closeWrite();
        check(sameBytes(await reading, data), `stream ${i} came back changed`);
        stream.close();
      }));
      session.close();
      await session.closed;
    }),
}]);
