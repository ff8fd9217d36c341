/**
 * The worker of the tour's worker part (`examples/tour/worker.ts`): it
 * serves its parent two names, like a socket server serving two ports.
 *
 * - `shout`: reads what a conn sends, up to its EOF, and answers it upper-cased;
 * - `sleepy`: accepts conns and never reads them.
 */

/// <reference lib="deno.worker" />

import { type Conn, listen } from "../mod.ts";

const held: Conn[] = [];

async function shout(conn: Conn): Promise<void> {
  const text = await new Response(conn.readable).text();
  await conn.write(new TextEncoder().encode(text.toUpperCase()));
  conn.close();
}

const sleepy = listen({ transport: "worker", name: "sleepy" });
(async () => {
  for await (const conn of sleepy) held.push(conn);
})();

for await (const conn of listen({ transport: "worker", name: "shout" })) {
  shout(conn).catch(() => conn.close());
}
