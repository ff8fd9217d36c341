// A broadcast meets a client that never reads.
import assert from "node:assert/strict";
import { connectClient, serve, type ServerClient } from "../ipc/mod.ts";
import { uniqueName } from "./ipc_helpers.ts";

/** What docs/ipc.md shows: each client gets a deadline, and one that misses it is dropped. */
function broadcastOrDrop(clients: Iterable<ServerClient>, type: number, data: Uint8Array): Promise<number> {
  return Promise.all(
    [...clients].map((client) =>
      client.write(type, data, { signal: AbortSignal.timeout(1000) }).then(() => 1, () => (client.close(), 0))
    ),
  ).then((took) => took.reduce((a, b) => a + b, 0 as number));
}

Deno.test("a client that never reads holds up broadcast(); a deadline per client drops it and the others are served", async () => {
  const name = uniqueName();
  await using server = await serve({ name, multiClient: true });
  await using rude = connectClient({ name }); // never reads
  await using polite = connectClient({ name });
  await Promise.all([rude.ready, polite.ready]);
  while (server.clients.size < 2) await new Promise((r) => setTimeout(r, 5));
  const big = new Uint8Array(256 * 1024);

  // Plain broadcast waits for every client: once the rude one's buffers are full, it waits for ever.
  let blocked: unknown;
  for (let i = 0; i < 200 && blocked === undefined; i++) {
    await server.broadcast(1, big, { signal: AbortSignal.timeout(1000) }).catch((err) => blocked = err);
    if (blocked === undefined) await polite.read({ signal: AbortSignal.timeout(5000) });
  }
  assert.ok(
    blocked instanceof DOMException && blocked.name === "TimeoutError",
    `broadcast ended with ${blocked}`,
  );
  assert.equal(server.clients.size, 2);

  // The pattern the docs show: the rude client misses its deadline, is dropped, and the polite one reads on.
  const reading = (async () => {
    let n = 0;
    for (;;) {
      const m = await polite.read({ signal: AbortSignal.timeout(5000) }).catch(() => null);
      if (m === null || m.type === 2) return n;
      n++;
    }
  })();
  let took = 2;
  for (let i = 0; i < 50 && took === 2; i++) took = await broadcastOrDrop(server.clients, 1, big);
  assert.equal(took, 1, "the rude client was dropped");
  assert.equal(server.clients.size, 1);
  for (let i = 0; i < 20; i++) assert.equal(await broadcastOrDrop(server.clients, 1, big), 1);
  await broadcastOrDrop(server.clients, 2, new Uint8Array(0));
  assert.ok((await reading) >= 20, "the polite client got every message after the drop");
});
