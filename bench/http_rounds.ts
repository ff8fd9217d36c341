/**
 * The HTTP target of issue 12 as paired rounds, for a shared, noisy machine:
 * each round runs `Deno.serve` + `fetch` over loopback TCP (the baseline)
 * right next to `serveHttp` + `createFetch` over a memory listener (and, for
 * the analysis, Node's `http` alone over the same memory listener, and
 * `createFetch` against that plain Node server), and a
 * ratio is the median over rounds of the two times in the same round (see
 * `mux_rounds.ts` for why; the same work through `deno bench` is
 * `http_bench.ts`).
 *
 *     deno run -A bench/http_rounds.ts [rounds]
 *
 * Prints a markdown table: requests per second as a multiple of the
 * baseline's, with the middle half of the rounds' ratios.
 */

import { createFetch } from "../http/mod.ts";
import { spread, timeRounds } from "./_rounds.ts";
import { CLIENTS, clients, N, oneAtATime, servers } from "./_http_work.ts";

const rounds = Number(Deno.args[0] ?? 25);

const all = servers();
const { viaNative, viaFixture, nodeOnly } = all;
const toNodeServer = createFetch(nodeOnly.dialer);
const viaNodeServer = () => toNodeServer("http://app/items").then((res) => res.json());

const cases: Record<string, () => Promise<void>> = {
  "native 1": () => oneAtATime(viaNative),
  "fixture 1": () => oneAtATime(viaFixture),
  "node 1": () => oneAtATime(nodeOnly.get),
  "fetch→node 1": () => oneAtATime(viaNodeServer),
  "native 8": () => clients(viaNative),
  "fixture 8": () => clients(viaFixture),
};

const times = await timeRounds(cases, rounds);

const rows: [string, string, string, string][] = [
  [`serveHttp + createFetch over memory, ${N} requests one at a time`, "native 1", "fixture 1", "≥ 1×"],
  [
    `node:http server + client over memory (no Request/Response), ${N} one at a time`,
    "native 1",
    "node 1",
    "-",
  ],
  [
    `createFetch against a plain node:http server (no Request/Response there), ${N} one at a time`,
    "native 1",
    "fetch→node 1",
    "-",
  ],
  [`serveHttp + createFetch over memory, ${CLIENTS} clients, ${N} requests`, "native 8", "fixture 8", "≥ 1×"],
];
console.log(`Deno ${Deno.version.deno}, ${new Date().toISOString().slice(0, 10)}, ${rounds} rounds\n`);
console.log(
  "| against Deno.serve + fetch over loopback TCP | speed (median of rounds) | middle half of rounds | goal |",
);
console.log("| --- | --- | --- | --- |");
for (const [title, base, ours, goal] of rows) {
  const [median, low, high] = spread(times[ours].map((t, i) => times[base][i] / t));
  console.log(`| ${title} | ${median.toFixed(2)}× | ${low.toFixed(2)}–${high.toFixed(2)}× | ${goal} |`);
}
const perTrip = (name: string) => (spread(times[name])[0] * 1000 / N).toFixed(0);
console.log(
  `\nMedian per request (µs): native ${perTrip("native 1")}, fixture ${perTrip("fixture 1")}, ` +
    `node:http alone ${perTrip("node 1")}, createFetch → node:http server ${
      perTrip("fetch→node 1")
    }; 8 clients: native ${perTrip("native 8")}, fixture ${perTrip("fixture 8")}`,
);
toNodeServer.close();
await all.close();
Deno.exit(0);
