// Stress in the shape libp2p uses for its muxers: many streams opened from
// both sides at once, a stalled stream beside fast ones, and a peer that
// never reads, whose cost must stay within the windows.
import assert from "node:assert/strict";
import { connect, listen, pipe } from "../mod.ts";
import { mux, type MuxStream, type Session } from "../mux/mod.ts";
import { echo, readAll, readExactly, within } from "./mux_helpers.ts";

const KiB = 1024, MiB = 1024 * 1024;

/** Sends `messages` messages of 1..1024 bytes on `stream`, checking each echo; then half-closes. */
async function exchange(stream: MuxStream, messages: number, seed: number): Promise<void> {
  let x = seed || 1;
  for (let i = 0; i < messages; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    const size = 1 + (x % 1024);
    const message = new Uint8Array(size).fill(i & 0xff);
    message[0] = seed & 0xff;
    await stream.write(message);
    const back = await readExactly(stream, size);
    if (back[0] !== (seed & 0xff) || back[size - 1] !== (size > 1 ? i & 0xff : seed & 0xff)) {
      assert.fail(`stream ${stream.id}: message ${i} came back wrong`);
    }
  }
  await stream.closeWrite();
  assert.equal(await stream.read(new Uint8Array(1)), null);
  stream.close();
}

async function bothWays(client: Session, server: Session): Promise<void> {
  const serve = (session: Session) =>
    (async () => {
      for await (const stream of session) echo(stream).then(() => stream.close());
    })();
  const serving = [serve(client), serve(server)];
  const half = 500;
  await within(
    Promise.all([
      ...Array.from({ length: half }, async (_, i) => exchange(await client.open(), 100, 2 * i + 1)),
      ...Array.from({ length: half }, async (_, i) => exchange(await server.open(), 100, 2 * i + 2)),
    ]),
    120_000,
    "1000 streams × 100 messages",
  );
  await within(
    (async () => {
      while (client.streams + server.streams > 0) await new Promise((r) => setTimeout(r, 5));
    })(),
    10_000,
    "every stream to be forgotten",
  );
  client.close();
  server.close();
  await Promise.all(serving);
  await Promise.all([client.closed, server.closed]);
}

Deno.test("1000 streams × 100 messages, half opened by each side, over pipe(): every echo right, every stream forgotten after", async () => {
  const [a, b] = pipe();
  await bothWays(mux(a, { role: "client" }), mux(b, { role: "server" }));
});

Deno.test("1000 streams × 100 messages, half opened by each side, over a Unix socket", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/stress.sock`;
  const listener = await listen({ transport: "unix", path });
  const dialing = connect({ transport: "unix", path });
  const server = mux(await listener.accept(), { role: "server" });
  const client = mux(await dialing, { role: "client" });
  listener.close();
  await bothWays(client, server);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a stalled stream beside ten fast ones: the fast ones all finish while it stays stalled", async () => {
  const [a, b] = pipe();
  const client = mux(a, { role: "client" }), server = mux(b, { role: "server" });
  const stalled = await client.open();
  await stalled.write(new Uint8Array(1));
  const stalledPeer = await server.accept(); // never read until the end
  let stuck = false;
  const filling = (async () => {
    for (;;) {
      const ok = await stalled.write(new Uint8Array(64 * KiB), { signal: AbortSignal.timeout(200) })
        .then(() => true, () => false);
      if (!ok) return (stuck = true);
    }
  })();
  const fast = await Promise.all(Array.from({ length: 10 }, () => client.open()));
  const serving = (async () => {
    for (let i = 0; i < 10; i++) echo(await server.accept());
  })();
  await within(
    Promise.all(fast.map(async (stream) => {
      const writing = (async () => {
        for (let i = 0; i < 64; i++) await stream.write(new Uint8Array(64 * KiB).fill(i));
        await stream.closeWrite();
      })();
      const back = await readAll(stream);
      await writing;
      assert.equal(back.length, 4 * MiB);
    })),
    60_000,
    "the fast streams",
  );
  await serving;
  await filling;
  assert.ok(stuck, "the stalled stream's writer never waited");
  assert.equal(stalledPeer.localAddr.transport, "memory");
  client.close();
  server.close();
  await Promise.all([client.closed, server.closed]);
});

Deno.test("a peer that never reads: what 200 streams can make it buffer stays within the windows (measured)", async () => {
  const [a, b] = pipe();
  const client = mux(a, { role: "client" });
  const server = mux(b, { role: "server" }); // accepts, never reads
  const accepted: MuxStream[] = [];
  const accepting = (async () => {
    for await (const s of server) accepted.push(s);
  })();
  const streams = 200;
  const before = Deno.memoryUsage();
  let written = 0;
  await Promise.all(Array.from({ length: streams }, async () => {
    const stream = await client.open();
    const chunk = new Uint8Array(64 * KiB);
    for (;;) {
      const ok = await stream.write(chunk, { signal: AbortSignal.timeout(300) }).then(
        () => true,
        () => false,
      );
      if (!ok) return;
      written += chunk.length;
    }
  }));
  const after = Deno.memoryUsage();
  const grew = after.external + after.heapUsed - before.external - before.heapUsed;
  // Each stream: the peer's 256 KiB window, plus our 4 KiB send queue (a bigger write waits holding its own buffer).
  const bound = streams * (256 + 4) * KiB;
  console.log(
    `${streams} streams into a peer that never reads: ${(written / MiB).toFixed(1)} MiB taken by writes ` +
      `(bound ${(bound / MiB).toFixed(1)} MiB), memory grew by ${(grew / MiB).toFixed(1)} MiB`,
  );
  assert.ok(written <= bound, `writes took ${written} bytes, past the windows' ${bound}`);
  assert.ok(grew < 3 * bound, `memory grew by ${grew} bytes`);
  assert.equal(accepted.length, streams);
  client.close();
  server.close();
  await accepting;
  await Promise.all([client.closed, server.closed]);
});
