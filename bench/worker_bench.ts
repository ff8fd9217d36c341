/**
 * A worker conn against raw `postMessage` between the same two isolates
 * (this one and `bench/worker_peer.ts`), in the same run:
 *
 * - "worker 64 KiB": one-way throughput in 64 KiB writes. The baseline
 *   posts a copy of the source buffer each time, transferring it (what a
 *   program that keeps its buffer does), with no flow control at all; the
 *   conn `write(p)`s the source (one copy, then a transfer) with its default
 *   window, a fixed 64 KiB one and a 1 MiB one, or writes fresh chunks to
 *   `writable` (transferred as they are). The far side reads into a 64 KiB
 *   buffer and answers once all bytes are in.
 * - "worker 64 B": one-way rate of 64-byte writes against 64-byte posts.
 * - "worker ping-pong": one byte there and back.
 *
 * `deno run -A bench/summary.ts bench/worker_bench.ts` prints the ratios;
 * `bench/worker_rounds.ts` runs the same work as paired rounds.
 */

import {
  BIG_WRITES,
  connBig,
  connBigWritable,
  connPingPong,
  connSmall,
  KiB64,
  rawBig,
  rawPingPong,
  rawSmall,
  ROUND_TRIPS,
  SMALL_WRITES,
  stopWorker,
} from "./_worker_work.ts";

globalThis.addEventListener("unload", stopWorker);

Deno.bench({
  name: `64 KiB: raw postMessage of a transferred copy, ${BIG_WRITES} × ${KiB64} B`,
  group: "worker 64 KiB",
  baseline: true,
  fn: rawBig,
});

const WINDOWS: [string, number | undefined][] = [
  ["default window (64 KiB, growing to 1 MiB)", undefined],
  ["fixed 64 KiB window", 64 * 1024],
  ["1 MiB window", 1024 * 1024],
];
for (const [window, bufferSize] of WINDOWS) {
  Deno.bench({
    name: `64 KiB: worker conn write(p), ${window}, ${BIG_WRITES} × ${KiB64} B`,
    group: "worker 64 KiB",
    // An async function: `deno bench` awaits only those, not a plain one that returns a promise.
    async fn() {
      await connBig(bufferSize);
    },
  });
}

Deno.bench({
  name: `64 KiB: worker conn writable (chunks transferred), default window, ${BIG_WRITES} × ${KiB64} B`,
  group: "worker 64 KiB",
  fn: connBigWritable,
});

Deno.bench({
  name: `64 B: raw postMessage, ${SMALL_WRITES} × 64 B`,
  group: "worker 64 B",
  baseline: true,
  fn: rawSmall,
});

Deno.bench({
  name: `64 B: worker conn write(p), ${SMALL_WRITES} × 64 B`,
  group: "worker 64 B",
  fn: connSmall,
});

Deno.bench({
  name: `ping-pong: raw postMessage, ${ROUND_TRIPS} round trips × 1 B`,
  group: "worker ping-pong",
  baseline: true,
  fn: rawPingPong,
});

Deno.bench({
  name: `ping-pong: worker conn read/write, ${ROUND_TRIPS} round trips × 1 B`,
  group: "worker ping-pong",
  fn: connPingPong,
});
