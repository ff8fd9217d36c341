/**
 * One-byte trips over pipe(), a raw conn against a mux stream, in the three
 * shapes a small message takes, so that the cost of each direction of the
 * ping-pong target (issue 8) shows on its own:
 * - `waiting`: the reader already waits when the write comes (the session
 *   hands the byte straight into its buffer);
 * - `after`: the reader comes after the write (the byte is held, or queued,
 *   until it does);
 * - `ping-pong`: one of each per round trip.
 *
 *     deno run -A bench/mux_trips.ts [rounds] [other checkout...]
 *
 * Sessions are made once, and every case of every checkout runs once per
 * round, in turn, in this one process; a round is timed by the CPU time the
 * process spent in it (see `bench/ab.ts`, `--cpu`). Prints the median time
 * of one trip (one direction; a whole round trip for ping-pong) per case and
 * checkout, with the middle half of the rounds, and the mux-to-raw ratio of
 * each round's pair.
 */

// deno-lint-ignore-file no-explicit-any
import process from "node:process";
import { spread } from "./_rounds.ts";
import { pingPong } from "./_mux_work.ts";

const TRIPS = 4000;
const rounds = Number(Deno.args[0] ?? 40);
const checkouts = [new URL("..", import.meta.url).pathname, ...Deno.args.slice(1)];

type Conn = any;
const shapes: Record<string, (x: Conn, y: Conn, b: Uint8Array, c: Uint8Array) => Promise<void>> = {
  async waiting(x, y, b, c) {
    for (let i = 0; i < TRIPS; i++) {
      const reading = y.read(c);
      await x.write(b);
      await reading;
    }
  },
  async after(x, y, b, c) {
    for (let i = 0; i < TRIPS; i++) {
      await x.write(b);
      await y.read(c);
    }
  },
  "ping-pong": (x, y) => pingPong(x, y, TRIPS),
};

const cpu = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

const cases: { checkout: string; shape: string; kind: "raw" | "mux"; run: () => Promise<void> }[] = [];
for (const checkout of checkouts) {
  const root = `file://${await Deno.realPath(checkout)}`;
  const { pipe } = await import(`${root}/mod.ts`);
  const { mux } = await import(`${root}/mux/mod.ts`);
  const raw = pipe();
  const [a, b] = pipe();
  const client = mux(a, { role: "client" }), server = mux(b, { role: "server" });
  const x = await client.open();
  await x.write(new Uint8Array(1));
  const y = await server.accept();
  await y.read(new Uint8Array(1));
  const bytes = [new Uint8Array(1), new Uint8Array(1)] as const;
  for (const [shape, work] of Object.entries(shapes)) {
    cases.push({ checkout, shape, kind: "raw", run: () => work(raw[0], raw[1], ...bytes) });
    cases.push({ checkout, shape, kind: "mux", run: () => work(x, y, ...bytes) });
  }
}

const times = cases.map(() => [] as number[]);
for (let r = -5; r < rounds; r++) {
  for (const [i, c] of cases.entries()) {
    const t0 = cpu();
    await c.run();
    if (r >= 0) times[i].push((cpu() - t0) * 1000 / TRIPS);
  }
}

console.log(`Deno ${Deno.version.deno}, ${rounds} rounds of ${TRIPS} trips, CPU time, µs per trip\n`);
console.log("| checkout | shape | raw | mux | mux / raw (same round) |");
console.log("| --- | --- | --- | --- | --- |");
const fmt = ([m, lo, hi]: number[], digits: number) =>
  `${m.toFixed(digits)} (${lo.toFixed(digits)}–${hi.toFixed(digits)})`;
for (let i = 0; i < cases.length; i += 2) {
  const { checkout, shape } = cases[i];
  const ratio = times[i + 1].map((t, r) => t / times[i][r]);
  console.log(
    `| ${checkout} | ${shape} | ${fmt(spread(times[i]), 3)} | ${fmt(spread(times[i + 1]), 3)} | ${
      fmt(spread(ratio), 2)
    }× |`,
  );
}
Deno.exit(0);
