/**
 * The worker targets of issue 10 as paired rounds, for a shared, noisy
 * machine: each round runs every case once, each conn case right beside its
 * raw baseline (before it in odd rounds, after it in even ones; the cases in
 * a new order each round), and a ratio is the median over rounds of the two
 * times in the same round (see `mux_rounds.ts` for why; the same work
 * through `deno bench` is `worker_bench.ts`).
 *
 *     deno run -A bench/worker_rounds.ts [rounds] [--vs=DIR]
 *
 * Beside the times, the CPU time of the whole process (every thread: both
 * isolates and the collector's helpers) each run took: on a shared machine
 * a figure the other work moves less than the time.
 *
 * `--vs=DIR` runs another checkout's conns too (its `bench/_worker_work.ts`,
 * its own worker), each right after this tree's raw baseline in the same
 * rounds: an A/B of two trees in one process.
 */

import {
  connBig,
  connBigWritable,
  connPingPong,
  connSmall,
  rawBig,
  rawPingPong,
  rawSmall,
  stopWorker,
} from "./_worker_work.ts";
import { spread } from "./_rounds.ts";
import process from "node:process";

const rounds = Number(Deno.args.find((arg) => !arg.startsWith("--")) ?? 20);
const vs = Deno.args.find((arg) => arg.startsWith("--vs="))?.slice("--vs=".length);

type Work = typeof import("./_worker_work.ts");
type Row = [string, () => Promise<void>, () => Promise<void>, "speed" | "time", string];
function rowsOf(work: Work, label = ""): Row[] {
  return [
    [`64 KiB writes, default window${label}`, rawBig, () => work.connBig(), "speed", "≥ 0.8×"],
    [`64 KiB writes, 1 MiB window${label}`, rawBig, () => work.connBig(1024 * 1024), "speed", "≥ 0.8×"],
    [`64 KiB chunks to writable, default window${label}`, rawBig, work.connBigWritable, "speed", "≥ 0.8×"],
    [`64 B writes${label}`, rawSmall, work.connSmall, "speed", "≥ 1×"],
    [`1-byte round trip${label}`, rawPingPong, work.connPingPong, "time", "≤ 1.3×"],
  ];
}
const here: Work = { connBig, connBigWritable, connPingPong, connSmall } as Work;
const other: Work | null = vs === undefined ? null : await import(
  new URL(`bench/_worker_work.ts`, new URL(`${vs.replace(/\/?$/, "/")}`, `file://${Deno.cwd()}/`)).href
);
const rows = other === null
  ? rowsOf(here)
  : rowsOf(here).flatMap((row, i) => [row, rowsOf(other, ` (${vs})`)[i]]);

console.log(`Deno ${Deno.version.deno}, ${new Date().toISOString().slice(0, 10)}, ${rounds} rounds\n`);
console.log(
  "| target | raw, median | conn, median | worker conn against raw posts (median of rounds) | middle half of rounds | " +
    "CPU per run, raw / conn (median) | goal |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- |");
const ratios = rows.map(() => [] as number[]);
const rawTimes = rows.map(() => [] as number[]), connTimes = rows.map(() => [] as number[]);
const rawCpu = rows.map(() => [] as number[]), connCpu = rows.map(() => [] as number[]);
/** Milliseconds of CPU (user and system) since `from`. */
const cpuSince = (from: NodeJS.CpuUsage) => {
  const { user, system } = process.cpuUsage(from);
  return (user + system) / 1000;
};
for (const [, raw, conn] of rows) await raw(), await conn(); // warm up
/** Runs `work`, and says how long it took and how much CPU. */
async function timed(work: () => Promise<void>): Promise<[number, number]> {
  const cpu = process.cpuUsage(), t0 = performance.now();
  await work();
  return [performance.now() - t0, cpuSince(cpu)];
}
// A run is slower right after work that left an isolate garbage to collect (a raw run leaves 16 MiB in the
// worker), so no run may always follow the same one: the rows come in a new order each round (shuffled, from
// a fixed seed), and within a row the raw run goes first in even rounds, the conn's in odd ones.
let seed = 1;
const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const order = rows.map((_, i) => i);
for (let r = 0; r < rounds; r++) {
  for (let k = order.length - 1; k > 0; k--) {
    const j = Math.floor(random() * (k + 1));
    [order[k], order[j]] = [order[j], order[k]];
  }
  for (const i of order) {
    const [, raw, conn, kind] = rows[i];
    let rawRun: [number, number], connRun: [number, number];
    if (r % 2 === 0) {
      rawRun = await timed(raw);
      connRun = await timed(conn);
    } else {
      connRun = await timed(conn);
      rawRun = await timed(raw);
    }
    const [rawTime, connTime] = [rawRun[0], connRun[0]];
    ratios[i].push(kind === "speed" ? rawTime / connTime : connTime / rawTime);
    rawTimes[i].push(rawTime);
    connTimes[i].push(connTime);
    rawCpu[i].push(rawRun[1]);
    connCpu[i].push(connRun[1]);
  }
}
for (const [i, [title, , , kind, goal]] of rows.entries()) {
  const [median, low, high] = spread(ratios[i]);
  const ms = (xs: number[]) => `${spread(xs)[0].toFixed(2)} ms`;
  console.log(
    `| ${title} | ${ms(rawTimes[i])} | ${ms(connTimes[i])} | ${median.toFixed(2)}× (${kind}) | ` +
      `${low.toFixed(2)}–${high.toFixed(2)}× | ${ms(rawCpu[i])} / ${ms(connCpu[i])} | ${goal} |`,
  );
}
stopWorker();
other?.stopWorker();
