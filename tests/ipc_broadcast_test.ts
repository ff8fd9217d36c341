// A broadcast meets a client that never reads.
import assert from "node:assert/strict";
import { ConnClosedError, ConnError } from "../errors.ts";
import { connectClient, type IpcStatusEvent, serve, type ServerClient } from "../ipc/mod.ts";
import { uniqueName } from "./ipc_helpers.ts";

/** What docs/ipc.md shows: each client gets a deadline, and one that misses it is dropped. */
function broadcastOrDrop(clients: Iterable<ServerClient>, type: number, data: Uint8Array): Promise<number> {
  return Promise.all(
    [...clients].map((client) =>
      client.write(type, data, { signal: AbortSignal.timeout(1000) }).then(() => 1, () => (client.close(), 0))
    ),
  ).then((took) => took.reduce((a, b) => a + b, 0 as number));
}

Deno.test("with writeTimeout: Infinity a client that never reads holds up broadcast(); a deadline per client drops it and the others are served", async () => {
  const name = uniqueName();
  await using server = await serve({ name, multiClient: true, writeTimeout: Infinity });
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

Deno.test("the server drops a client that stops reading once writes to it wait writeTimeout, and broadcast() serves the others", async () => {
  const name = uniqueName();
  await using server = await serve({ name, multiClient: true, writeTimeout: 300 });
  await using rude = connectClient({ name }); // never reads
  await rude.ready;
  while (server.clients.size < 1) await new Promise((r) => setTimeout(r, 5));
  const [rudeOnServer] = server.clients;
  await using polite = connectClient({ name });
  await polite.ready;
  while (server.clients.size < 2) await new Promise((r) => setTimeout(r, 5));
  const dropped = new Promise<IpcStatusEvent<ServerClient>>((resolve) =>
    server.addEventListener("statuschange", (event) => {
      if (event.client !== undefined && event.status === "closed") resolve(event);
    })
  );
  const big = new Uint8Array(256 * 1024);
  let got = 0;
  const reading = (async () => {
    for (;;) {
      const m = await polite.read({ signal: AbortSignal.timeout(10_000) });
      if (m.type === 2) return;
      got++;
    }
  })();

  // No broadcast waits for ever: once the rude client's buffers are full, one waits about writeTimeout and
  // then counts only the polite client.
  const counts: number[] = [];
  for (let i = 0; i < 100 && (counts.at(-1) ?? 2) === 2; i++) {
    counts.push(await server.broadcast(1, big, { signal: AbortSignal.timeout(10_000) }));
  }
  assert.equal(counts.at(-1), 1, `broadcasts took ${counts.join(", ")}`);
  const event = await dropped;
  assert.equal(event.client, rudeOnServer, "the client dropped is the one that never read");
  assert.ok(event.error instanceof ConnError && event.error.code === "ETIMEDOUT" && event.error.timeout);
  assert.match(event.error.message, /stopped reading.*300 ms.*writeTimeout/);
  assert.equal(server.clients.size, 1);

  // A write to the dropped client says why it is gone; the polite client gets everything after, in order.
  const late = await rudeOnServer.write(1, new Uint8Array(1)).catch((err) => err);
  assert.ok(late instanceof ConnClosedError, `late write: ${late}`);
  for (let i = 0; i < 20; i++) assert.equal(await server.broadcast(1, big), 1);
  await server.broadcast(2, new Uint8Array(0));
  await reading;
  assert.equal(got, counts.length + 20);
});

Deno.test("a client that reads slowly but keeps reading is not dropped by writeTimeout", async () => {
  const name = uniqueName();
  await using server = await serve({ name, writeTimeout: 5000 });
  await using client = connectClient({ name });
  await client.ready;
  while (server.clients.size < 1) await new Promise((r) => setTimeout(r, 5));
  const big = new Uint8Array(256 * 1024);
  let written = 0;
  const writing = (async () => {
    for (let i = 0; i < 24; i++) written += (await server.write(1, big), 1);
  })();
  // The writes wait on the reader throughout, each going through as the reader takes one more message.
  for (let i = 0; i < 24; i++) {
    await client.read({ signal: AbortSignal.timeout(10_000) });
    if (i === 0) assert.ok(written < 24, "the writes wait for the reader");
    await new Promise((r) => setTimeout(r, 50));
  }
  await writing;
  assert.equal(server.clients.size, 1);
});

Deno.test("serve() checks writeTimeout", async () => {
  // Not a whole number: TypeError; out of range (3e9 ms is past what a timer takes): RangeError.
  for (
    const [bad, kind] of [[0, RangeError], [-1, RangeError], [3e9, RangeError], [1.5, TypeError], [
      Number.NaN,
      TypeError,
    ], ["1000", TypeError]] as const
  ) {
    await assert.rejects(
      serve({ name: uniqueName(), writeTimeout: bad as number }),
      (err: Error) => err instanceof kind && /writeTimeout/.test(err.message),
    );
  }
});

Deno.test("writes given up on their own signals add up: a client that never reads is dropped even when each write's deadline is shorter than writeTimeout", async () => {
  const name = uniqueName();
  await using server = await serve({ name, writeTimeout: 300 });
  await using client = connectClient({ name }); // never reads
  await client.ready;
  while (server.clients.size < 1) await new Promise((r) => setTimeout(r, 5));
  const [peer] = server.clients;
  const dropped = new Promise<IpcStatusEvent<ServerClient>>((resolve) =>
    server.addEventListener("statuschange", (event) => {
      if (event.client === peer && event.status === "closed") resolve(event);
    })
  );
  const big = new Uint8Array(256 * 1024);
  let given = 0;
  while (peer.status === "connected" && given < 50) {
    await peer.write(1, big, { signal: AbortSignal.timeout(100) }).catch(() => given++);
  }
  assert.ok(given >= 3 && given < 50, `${given} writes given up, and the client is still ${peer.status}`);
  const event = await dropped;
  assert.ok(event.error instanceof ConnError && event.error.code === "ETIMEDOUT", `${event.error}`);
});
