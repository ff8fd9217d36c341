/**
 * The mux (`@tether/tether/mux`): the conformance kit over mux streams on a
 * `pipe()`, and a session over a worker conn whose streams a mux server in
 * the worker echoes.
 */

import { pipe, portConn } from "../../../mod.ts";
import { mux } from "../../../mux/mod.ts";
import { type CheckResult, runConnChecks } from "../../../testing/mod.ts";
import { check, describeError, echo, type Layer, pattern, readAll, sameBytes } from "../suite.ts";

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
    const toRow = (r: CheckResult) =>
      report({
        layer: "mux",
        id: `streams over pipe()/${r.id}`,
        outcome: r.outcome,
        message: r.error ? describeError(r.error) : undefined,
        ms: Math.round(r.ms),
      });
    await runConnChecks(async () => {
      const opened = await client.open();
      return [opened, await server.accept({ signal: AbortSignal.timeout(10_000) })];
    }, { onResult: toRow });
    client.close();
    server.close();
    await Promise.all([client.closed, server.closed]);

    const start = performance.now();
    const worker = await host.startWorker();
    try {
      const { port1, port2 } = new MessageChannel();
      worker.send({ cmd: "mux-echo", port: port2 }, [port2]);
      const session = mux(portConn(port1), { role: "client" });
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
      report({
        layer: "mux",
        id: "8 streams echoed by a mux server in a worker",
        outcome: "passed",
        ms: ms(start),
      });
    } catch (err) {
      report({
        layer: "mux",
        id: "8 streams echoed by a mux server in a worker",
        outcome: "failed",
        message: describeError(err),
        ms: ms(start),
      });
    } finally {
      await worker.terminate();
    }
  },
};

function ms(start: number): number {
  return Math.round(performance.now() - start);
}
