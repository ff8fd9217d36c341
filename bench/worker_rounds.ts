/**
 * The worker targets of issue 10 as paired rounds, for a shared, noisy
 * machine: each round runs every case once, each conn case right after its
 * raw baseline, and a ratio is the median over rounds of the two times in
 * the same round (see `mux_rounds.ts` for why; the same work through
 * `deno bench` is `worker_bench.ts`).
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
for (let r = 0; r < rounds; r++) {
  // Each round starts one row further on: a row's raw run follows each other row's work in turn, not always
  // the same one (a raw run is slower right after work that left the worker garbage to collect).
  for (let k = 0; k < rows.length; k++) {
    const i = (r + k) % rows.length;
    const [, raw, conn, kind] = rows[i];
    const c0 = process.cpuUsage(), t0 = performance.now();
    await raw();
    const t1 = performance.now();
    rawCpu[i].push(cpuSince(c0));
    const c1 = process.cpuUsage();
    await conn();
    const t2 = performance.now();
    connCpu[i].push(cpuSince(c1));
    ratios[i].push(kind === "speed" ? (t1 - t0) / (t2 - t1) : (t2 - t1) / (t1 - t0));
    rawTimes[i].push(t1 - t0);
    connTimes[i].push(t2 - t1);
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
