// ipc between real processes, with real faults: a second Deno process runs
// the other side (tests/fixtures/ipc_peer.ts).
import assert from "node:assert/strict";
import { ConnClosedError } from "../mod.ts";
import { connectClient, type IpcStatusEvent, serve } from "../ipc/mod.ts";
import { exchangeSize, nextStatus, payload, same, spawnPeer, stopPeer, uniqueName } from "./ipc_helpers.ts";

const COUNT = 100_000;

for (const encryption of [true, false]) {
  Deno.test(`two processes exchange ${COUNT} messages each way, 0 B to 1 MiB, in order and intact (encryption: ${encryption})`, async () => {
    const name = uniqueName("x");
    const { child, lines } = await spawnPeer("exchange-server", { name, encryption, count: COUNT });
    try {
      await using client = connectClient({ name, encryption, timeout: 10_000 });
      const sending = (async () => {
        for (let i = 0; i < COUNT; i++) await client.write(1 + (i % 1000), payload(i, exchangeSize(i)));
      })();
      for (let i = 0; i < COUNT; i++) {
        const message = await client.read();
        assert.equal(message.type, 1 + (i % 1000), `type of message ${i}`);
        if (!same(message.data, payload(i, exchangeSize(i)))) assert.fail(`message ${i} differs`);
      }
      await sending;
      assert.equal(await lines(), `ok ${COUNT}`);
    } finally {
      await stopPeer(child);
      while (await lines() !== null);
    }
  });
}

function seqData(seq: number): Uint8Array {
  const data = new Uint8Array(64);
  new DataView(data.buffer).setUint32(0, seq);
  return data;
}

Deno.test("SIGKILL of the server while the client writes: the client reconnects by itself and nothing resolved goes unreported", async () => {
  const name = uniqueName("k");
  const first = await spawnPeer("counting-server", { name });
  let second: Awaited<ReturnType<typeof spawnPeer>> | undefined;
  await using client = connectClient({ name, retryDelay: 50, timeout: 20_000 });
  try {
    const resolved: number[] = [];
    const failed: number[] = [];
    let seq = 0;
    let phase = "old" as "old" | "gap" | "new";
    const afterReconnect: number[] = [];
    let lost: IpcStatusEvent | undefined;
    let resolvedAtDrop = -1;
    client.addEventListener("statuschange", (e) => {
      const event = e as IpcStatusEvent;
      if (event.status === "reconnecting" && lost === undefined) {
        lost = event;
        resolvedAtDrop = resolved.length;
        phase = "gap";
      }
    });
    const writing = (async () => {
      while ((phase !== "new" || afterReconnect.length < 500) && client.status !== "closed") {
        const s = seq++;
        const writtenIn = phase;
        try {
          await client.write(1, seqData(s));
          if (writtenIn === "old" && lost === undefined) resolved.push(s);
          if (writtenIn === "new") afterReconnect.push(s);
        } catch (err) {
          assert.ok(err instanceof ConnClosedError, String(err));
          failed.push(s);
        }
      }
    })();
    await client.ready;
    while (resolved.length < 6000) await new Promise((r) => setTimeout(r, 5));
    // Kill it once it has read some, with thousands still in flight.
    const gotByOld = new Set<number>();
    while (gotByOld.size < 1500) gotByOld.add(Number((await first.lines())!.slice(4)));
    first.child.kill("SIGKILL");
    for (let line; (line = await first.lines()) !== null;) gotByOld.add(Number(line.slice(4)));
    await first.child.status;
    while (lost === undefined) await new Promise((r) => setTimeout(r, 5));
    // Every write that resolved on the old connection was read by the old
    // server, or is among the `unconfirmed` the reconnecting event reports.
    const unconfirmed = lost.unconfirmed!;
    assert.equal(typeof unconfirmed, "number");
    const confirmed = resolvedAtDrop - unconfirmed;
    assert.ok(
      confirmed > 0 && confirmed <= resolvedAtDrop,
      `unconfirmed ${unconfirmed} of ${resolvedAtDrop}`,
    );
    for (let s = 0; s < confirmed; s++) {
      if (!gotByOld.has(resolved[s])) assert.fail(`message ${resolved[s]} was confirmed but never read`);
    }
    const missing = resolved.slice(0, resolvedAtDrop).filter((s) => !gotByOld.has(s));
    assert.ok(missing.length <= unconfirmed, `${missing.length} lost, ${unconfirmed} reported`);
    // A new server under the same name: the client finds it by itself.
    const connected = nextStatus(client, "connected");
    second = await spawnPeer("counting-server", { name });
    await connected;
    phase = "new";
    await writing;
    const gotByNew = new Set<number>();
    while (afterReconnect.some((s) => !gotByNew.has(s))) {
      const line = await second.lines();
      assert.notEqual(line, null, "the new server ended early");
      gotByNew.add(Number(line!.slice(4)));
    }
  } finally {
    await stopPeer(first.child);
    if (second) {
      await stopPeer(second.child);
      while (await second.lines() !== null);
    }
  }
});

Deno.test("200 clients in 4 processes talk to one server at once; no message crosses; a client that never reads stalls nobody", async () => {
  const name = uniqueName("m");
  await using server = await serve({ name, multiClient: true });
  // Echo each message to its sender; writes to one client wait only for that client.
  const serving = (async () => {
    for await (const { client, message } of server) client.write(message.type, message.data).catch(() => {});
  })();
  const slow = await spawnPeer("clients", { name, clients: 1, messages: 100, slow: true });
  assert.equal(await slow.lines(), "ok");
  const peers = await Promise.all(
    Array.from({ length: 4 }, () => spawnPeer("clients", { name, clients: 50, messages: 100 })),
  );
  try {
    for (const peer of peers) assert.equal(await peer.lines(), "ok");
    // Every client is still there: none was dropped or merged with another.
    assert.equal(server.clients.size, 201);
  } finally {
    for (const peer of [slow, ...peers]) {
      await stopPeer(peer.child);
      while (await peer.lines() !== null);
    }
    server.close();
    await serving;
  }
});
