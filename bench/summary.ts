/**
 * Runs `deno bench --json` over the given bench files (all of bench/ by
 * default) and prints, per group, each bench's rate and its ratio to the
 * group's baseline, as a Markdown table for bench/RESULTS.md.
 *
 * A bench names its work per iteration as `N × S B` (N items of S bytes) or
 * `N round trips` (or `N connects`), which turns a time per iteration into items/s and MB/s.
 *
 *     deno run -A bench/summary.ts [bench/memory_bench.ts ...]
 */

interface BenchResult {
  group?: string;
  name: string;
  baseline: boolean;
  results: { ok?: { avg: number; min: number; n: number } }[];
}

const files = Deno.args.length > 0 ? Deno.args : ["bench/"];
const { stdout, code, stderr } = await new Deno.Command(Deno.execPath(), {
  args: ["bench", "-A", "--json", ...files],
  stdout: "piped",
  stderr: "piped",
}).output();
if (code !== 0) {
  console.error(new TextDecoder().decode(stderr));
  Deno.exit(code);
}
const report = JSON.parse(new TextDecoder().decode(stdout)) as { runtime: string; benches: BenchResult[] };

function work(name: string): { items: number; bytes: number } | null {
  const sized = name.match(/([\d_]+) × ([\d_]+) B/);
  if (sized) {
    const items = Number(sized[1].replaceAll("_", ""));
    return { items, bytes: items * Number(sized[2].replaceAll("_", "")) };
  }
  const trips = name.match(/([\d_]+) (?:round trips|connects)/);
  return trips ? { items: Number(trips[1].replaceAll("_", "")), bytes: 0 } : null;
}

function rate(n: number, unit: string): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G${unit}`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M${unit}`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k${unit}`;
  return `${n.toFixed(1)} ${unit}`;
}

console.log(`${report.runtime}, ${new Date().toISOString().slice(0, 10)}\n`);
console.log(
  "| group | bench | time/iter | items/s | MB/s or per trip | vs baseline (speed) | vs baseline (best iteration) |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- |");
const groups = Map.groupBy(report.benches, (b) => b.group ?? b.name);
for (const [group, benches] of groups) {
  const base = benches.find((b) => b.baseline)?.results[0]?.ok;
  for (const bench of benches) {
    const ok = bench.results[0]?.ok;
    if (!ok) {
      console.log(`| ${group} | ${bench.name} | failed | | | | |`);
      continue;
    }
    const seconds = ok.avg / 1e9;
    const w = work(bench.name);
    const items = w ? rate(w.items / seconds, "/s") : "";
    const second = w
      ? (w.bytes > 0 ? (w.bytes / seconds / 1e6).toFixed(0) : `${(seconds / w.items * 1e6).toFixed(2)} µs`)
      : "";
    const ratio = base ? `${(base.avg / ok.avg).toFixed(2)}×` : "";
    const best = base ? `${(base.min / ok.min).toFixed(2)}×` : "";
    console.log(
      `| ${group} | ${bench.name} | ${(ok.avg / 1e6).toFixed(2)} ms | ${items} | ${second} | ${
        bench.baseline ? "baseline" : ratio
      } | ${bench.baseline ? "baseline" : best} |`,
    );
  }
}
