/**
 * What a worker started by a {@linkcode Host} does, on any runtime: each
 * command sets up one peer. `browser_worker.ts`, `node_worker.ts` and
 * `deno_worker.ts` feed it their messages.
 *
 * - `{ cmd: "echo", port }`: echoes over `portConn(port)`;
 * - `{ cmd: "relay", a, b }`: joins `portConn(a)` and `portConn(b)` both ways;
 * - `{ cmd: "secure-echo", port }`: a `secure()` responder that echoes;
 * - `{ cmd: "frames-echo", port }`: echoes each `frames()` message;
 * - `{ cmd: "listen-echo", name, link? }`: listens on `name` (for the parent,
 *   or on the port `link`), answers `{ listening: name }`, echoes every conn.
 *
 * @module
 */

import { type Conn, frames, listen, portConn, type WorkerEndpoint } from "../../mod.ts";
import { secure } from "../../crypto/mod.ts";

function echo(conn: Conn): void {
  conn.readable.pipeTo(conn.writable).catch(() => conn.close());
}

export async function handle(message: unknown, reply: (message: unknown) => void): Promise<void> {
  if (message === null || typeof message !== "object" || !("cmd" in message)) return;
  const m = message as Record<string, unknown> & { cmd: string };
  switch (m.cmd) {
    case "echo":
      return echo(portConn(m.port as MessagePort));
    case "relay": {
      const x = portConn(m.a as MessagePort), y = portConn(m.b as MessagePort);
      await Promise.allSettled([x.readable.pipeTo(y.writable), y.readable.pipeTo(x.writable)]);
      x.close();
      y.close();
      return;
    }
    case "secure-echo":
      return echo(await secure(portConn(m.port as MessagePort), { role: "responder" }));
    case "frames-echo": {
      const framed = frames(portConn(m.port as MessagePort));
      for await (const message of framed) await framed.send(message);
      return framed.close();
    }
    case "listen-echo": {
      const worker = (m.link ?? "parent") as WorkerEndpoint;
      const listener = listen({ transport: "worker", worker, name: m.name as string });
      reply({ listening: m.name });
      for await (const conn of listener) echo(conn);
      return;
    }
  }
}
