/**
 * The netchan target of issue 9 as paired rounds, for a shared, noisy
 * machine: each round runs the raw `frames()` baseline and the channel right
 * after each other on fresh conns, and a ratio is the median over rounds of
 * the two times in the same round (see `mux_rounds.ts` for why; the same
 * work through `deno bench` is `netchan_bench.ts`).
 *
 *     deno run -A bench/netchan_rounds.ts [rounds]
 *
 * Prints a markdown table: the channel's speed as a multiple of the raw
 * rate, with the middle half of the rounds' ratios.
 */

import { type Conn, pipe } from "../mod.ts";
import { channel, COUNT, rawFrames } from "./_netchan_work.ts";
import { spread, unixPairs } from "./_rounds.ts";

const rounds = Number(Deno.args[0] ?? 20);

const unix = await unixPairs();
const unixPair = unix.pair;

const transports: [string, () => Promise<[Conn, Conn]> | [Conn, Conn]][] = [
  ["pipe()", () => pipe()],
  ["a Unix socket", unixPair],
];

async function timed(run: (a: Conn, b: Conn) => Promise<void>, pair: [Conn, Conn]): Promise<number> {
  const t0 = performance.now();
  await run(...pair);
  const took = performance.now() - t0;
  pair[0].close();
  pair[1].close();
  return took;
}

console.log(`Deno ${Deno.version.deno}, ${new Date().toISOString().slice(0, 10)}, ${rounds} rounds\n`);
console.log(
  `| ${COUNT} small objects over | channel against raw frames() (median of rounds) | middle half | goal |`,
);
console.log("| --- | --- | --- | --- |");
for (const [name, pair] of transports) {
  await timed(rawFrames, await pair()); // warm up
  await timed(channel, await pair());
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const raw = await timed(rawFrames, await pair());
    ratios.push(raw / await timed(channel, await pair()));
  }
  const [median, low, high] = spread(ratios);
  console.log(`| ${name} | ${median.toFixed(2)}× (speed) | ${low.toFixed(2)}–${high.toFixed(2)}× | ≥ 0.7× |`);
}
await unix.close();
