/**
 * mux/ against the raw conn underneath it, and against js-libp2p's yamux on
 * the same memory pipe, in the same run (issue 8):
 *
 * - throughput of one stream at 64 KiB writes, over pipe() and a Unix socket;
 * - the total throughput of 100 concurrent streams (beside 100 raw pipes at
 *   once: the same memory traffic without the mux);
 * - stream open + 1 KiB exchange + close, against @chainsafe/libp2p-yamux;
 * - 1-byte ping-pong latency on a stream;
 * - fast streams beside a stalled one, against the same streams alone.
 *
 * `deno run -A bench/summary.ts bench/mux_bench.ts` prints the ratios.
 */

import { type Conn, connect, listen, pipe } from "../mod.ts";
import { CHUNK, openClose, pingPong, sessionPair, stream, streamPair } from "./_mux_work.ts";

const WRITES = 2000;

// ---- over pipe() ----

const [rawA, rawB] = pipe();
const overPipe = await sessionPair(...pipe());

// ---- over a Unix socket ----

const dir = await Deno.makeTempDir();
const listener = await listen({ transport: "unix", path: `${dir}/bench.sock` });
async function unixPair(): Promise<[Conn, Conn]> {
  const dialing = connect({ transport: "unix", path: `${dir}/bench.sock` });
  const accepted = await listener.accept();
  return [await dialing, accepted];
}
const [unixA, unixB] = await unixPair();
const overUnix = await sessionPair(...await unixPair());

for (
  const [where, raw, muxed] of [
    ["pipe()", [rawA, rawB], overPipe],
    ["unix", [unixA, unixB], overUnix],
  ] as const
) {
  Deno.bench({
    name: `${where} raw conn, ${WRITES} × ${CHUNK} B`,
    group: `one stream over ${where}, 64 KiB writes`,
    baseline: true,
    async fn() {
      await stream(raw[0], raw[1], WRITES);
    },
  });
  Deno.bench({
    name: `${where} mux stream, ${WRITES} × ${CHUNK} B`,
    group: `one stream over ${where}, 64 KiB writes`,
    async fn() {
      await stream(muxed.x, muxed.y, WRITES);
    },
  });
  Deno.bench({
    name: `${where} raw conn ping-pong, 2000 round trips`,
    group: `1-byte ping-pong over ${where}`,
    baseline: true,
    async fn() {
      await pingPong(raw[0], raw[1], 2000);
    },
  });
  Deno.bench({
    name: `${where} mux stream ping-pong, 2000 round trips`,
    group: `1-byte ping-pong over ${where}`,
    async fn() {
      await pingPong(muxed.x, muxed.y, 2000);
    },
  });
}

// ---- 100 concurrent streams ----

const STREAMS = 100;
const PER_STREAM = WRITES / STREAMS;
const many: [Conn, Conn][] = [];
for (let i = 0; i < STREAMS; i++) many.push(await streamPair(overPipe.client, overPipe.server));

Deno.bench({
  name: `raw pipe(), one conn, ${WRITES} × ${CHUNK} B`,
  group: "100 concurrent streams over pipe(), total throughput",
  baseline: true,
  async fn() {
    await stream(rawA, rawB, WRITES);
  },
});
const rawMany = Array.from({ length: STREAMS }, () => pipe());
Deno.bench({
  name: `${STREAMS} raw pipe()s at once, ${WRITES} × ${CHUNK} B in all`,
  group: "100 concurrent streams over pipe(), total throughput",
  async fn() {
    await Promise.all(rawMany.map(([x, y]) => stream(x, y, PER_STREAM)));
  },
});
Deno.bench({
  name: `mux over pipe(), ${WRITES} × ${CHUNK} B in ${STREAMS} streams at once`,
  group: "100 concurrent streams over pipe(), total throughput",
  async fn() {
    await Promise.all(many.map(([x, y]) => stream(x, y, PER_STREAM)));
  },
});

// ---- open + 1 KiB exchange + close, against libp2p's yamux ----

const OPENS = 200;
const opening = await openClose();

Deno.bench({
  name: `libp2p-yamux open + 1 KiB echo + close, ${OPENS} round trips`,
  group: "stream open + 1 KiB exchange + close, same memory pipe",
  baseline: true,
  async fn() {
    await opening.libp2p(OPENS);
  },
});
Deno.bench({
  name: `tether mux open + 1 KiB echo + close, ${OPENS} round trips`,
  group: "stream open + 1 KiB exchange + close, same memory pipe",
  async fn() {
    await opening.tether(OPENS);
  },
});

// ---- fast streams beside a stalled one ----

const FAST = 4, FAST_WRITES = 64;
const fast = await Promise.all(Array.from({ length: FAST }, () => sessionPair(...pipe())));
const besideStalled = await (async () => {
  const [a, b] = pipe();
  const { client, server } = await sessionPair(a, b);
  // One stream nobody reads, filled to its window...
  const stalled = await client.open();
  await stalled.write(new Uint8Array(1));
  await server.accept();
  for (;;) {
    const ok = await stalled.write(new Uint8Array(CHUNK), { signal: AbortSignal.timeout(100) })
      .then(() => true, () => false);
    if (!ok) break;
  }
  // ...beside the fast ones, on the same session.
  const pairs: [Conn, Conn][] = [];
  for (let i = 0; i < FAST; i++) pairs.push(await streamPair(client, server));
  return pairs;
})();

Deno.bench({
  name: `${FAST} fast streams alone, ${FAST * FAST_WRITES} × ${CHUNK} B`,
  group: "fast streams beside a stalled one",
  baseline: true,
  async fn() {
    await Promise.all(fast.map(({ x, y }) => stream(x, y, FAST_WRITES)));
  },
});
Deno.bench({
  name: `${FAST} fast streams beside a stalled one, ${FAST * FAST_WRITES} × ${CHUNK} B`,
  group: "fast streams beside a stalled one",
  async fn() {
    await Promise.all(besideStalled.map(([x, y]) => stream(x, y, FAST_WRITES)));
  },
});
