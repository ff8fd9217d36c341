/**
 * The mux targets of issue 8 as paired rounds, for a shared, noisy machine:
 * each round runs every case once, the baseline right next to the mux case
 * it is compared with, and a ratio is the median over rounds of the two
 * times in the same round. A stall of the machine then spoils one round's
 * pair, not the average of a whole series, as it does with `deno bench`
 * (whose figures for the same cases are in bench/mux_bench.ts).
 *
 *     deno run -A bench/mux_rounds.ts [rounds]
 *
 * Prints a markdown table: per target, the mux's speed as a multiple of its
 * baseline's (for ping-pong, the round trip as a multiple of the raw one),
 * with the middle half of the rounds' ratios.
 */

import { type Conn, pipe } from "../mod.ts";
import { openClose, pingPong, sessionPair, stream, streamPair } from "./_mux_work.ts";
import { spread, unixPairs } from "./_rounds.ts";

const WRITES = 2000;
const TRIPS = 2000;
const OPENS = 200;
const rounds = Number(Deno.args[0] ?? 25);

const unix = await unixPairs();
const unixPair = unix.pair;

const rawPipe = pipe();
const overPipe = await sessionPair(...pipe());
const rawUnix = await unixPair();
const overUnix = await sessionPair(...await unixPair());
const rawPipes = Array.from({ length: 100 }, () => pipe());
const many: [Conn, Conn][] = [];
for (let i = 0; i < 100; i++) many.push(await streamPair(overPipe.client, overPipe.server));

const opening = await openClose();

const cases: Record<string, () => Promise<void>> = {
  "pipe raw 64K": () => stream(rawPipe[0], rawPipe[1], WRITES),
  "pipe mux 64K": () => stream(overPipe.x, overPipe.y, WRITES),
  "unix raw 64K": () => stream(rawUnix[0], rawUnix[1], WRITES),
  "unix mux 64K": () => stream(overUnix.x, overUnix.y, WRITES),
  "100 raw pipes": () => Promise.all(rawPipes.map(([x, y]) => stream(x, y, WRITES / 100))).then(() => {}),
  "100 mux streams": () => Promise.all(many.map(([x, y]) => stream(x, y, WRITES / 100))).then(() => {}),
  "pipe raw ping-pong": () => pingPong(rawPipe[0], rawPipe[1], TRIPS),
  "pipe mux ping-pong": () => pingPong(overPipe.x, overPipe.y, TRIPS),
  "unix raw ping-pong": () => pingPong(rawUnix[0], rawUnix[1], TRIPS),
  "unix mux ping-pong": () => pingPong(overUnix.x, overUnix.y, TRIPS),
  "libp2p open/close": () => opening.libp2p(OPENS),
  "mux open/close": () => opening.tether(OPENS),
};

const times: Record<string, number[]> = {};
for (const fn of Object.values(cases)) await fn(); // warm up
for (let r = 0; r < rounds; r++) {
  for (const [name, fn] of Object.entries(cases)) {
    const t0 = performance.now();
    await fn();
    (times[name] ??= []).push(performance.now() - t0);
  }
}

const rows: [string, string, string, "speed" | "time", string][] = [
  ["one stream over pipe(), 64 KiB writes", "pipe raw 64K", "pipe mux 64K", "speed", "≥ 0.8×"],
  ["one stream over a Unix socket, 64 KiB writes", "unix raw 64K", "unix mux 64K", "speed", "≥ 0.8×"],
  [
    "100 concurrent streams over pipe(), against one raw pipe",
    "pipe raw 64K",
    "100 mux streams",
    "speed",
    "≥ 0.8×",
  ],
  [
    "100 concurrent streams over pipe(), against 100 raw pipes at once",
    "100 raw pipes",
    "100 mux streams",
    "speed",
    "-",
  ],
  ["1-byte ping-pong over pipe(), round trip", "pipe raw ping-pong", "pipe mux ping-pong", "time", "≤ 1.3×"],
  [
    "1-byte ping-pong over a Unix socket, round trip",
    "unix raw ping-pong",
    "unix mux ping-pong",
    "time",
    "≤ 1.3×",
  ],
  [
    "open + 1 KiB exchange + close, against libp2p's yamux",
    "libp2p open/close",
    "mux open/close",
    "speed",
    "≥ 2×",
  ],
];
console.log(`Deno ${Deno.version.deno}, ${new Date().toISOString().slice(0, 10)}, ${rounds} rounds\n`);
console.log("| target | mux against its baseline (median of rounds) | middle half of rounds | goal |");
console.log("| --- | --- | --- | --- |");
for (const [title, base, muxed, kind, goal] of rows) {
  const ratios = times[muxed].map((t, i) => kind === "speed" ? times[base][i] / t : t / times[base][i]);
  const [median, low, high] = spread(ratios);
  const label = kind === "speed" ? "speed" : "time";
  console.log(
    `| ${title} | ${median.toFixed(2)}× (${label}) | ${low.toFixed(2)}–${high.toFixed(2)}× | ${goal} |`,
  );
}
Deno.exit(0);
