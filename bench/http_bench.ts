/**
 * Requests per second for a small JSON handler, in the same run:
 *
 * - baseline: `Deno.serve` on a loopback TCP port, with the platform `fetch`
 *   (HTTP in native code, the kernel in between);
 * - `serveHttp` + `createFetch` over a memory listener (no port, no kernel);
 * - for the analysis: Node's `http` server and client alone over the same
 *   memory listener, with no Web `Request`/`Response` made on either side.
 *
 * Each iteration is `N round trips` made one at a time, or 8 clients making
 * N between them. The same work as paired rounds, for a noisy machine:
 * `http_rounds.ts`.
 */

import { CLIENTS, clients, N, oneAtATime, servers } from "./_http_work.ts";

const all = servers();
const { viaNative, viaFixture, nodeOnly } = all;

Deno.bench({
  name: `Deno.serve + fetch over loopback TCP, ${N} round trips`,
  group: "http: one request at a time",
  baseline: true,
  async fn() {
    await oneAtATime(viaNative);
  },
});
Deno.bench({
  name: `serveHttp + createFetch over memory, ${N} round trips`,
  group: "http: one request at a time",
  async fn() {
    await oneAtATime(viaFixture);
  },
});
Deno.bench({
  name: `node:http server + client over memory, no Request/Response, ${N} round trips`,
  group: "http: one request at a time",
  async fn() {
    await oneAtATime(nodeOnly.get);
  },
});
Deno.bench({
  name: `Deno.serve + fetch over loopback TCP, ${CLIENTS} clients, ${N} round trips`,
  group: `http: ${CLIENTS} clients at once`,
  baseline: true,
  async fn() {
    await clients(viaNative);
  },
});
Deno.bench({
  name: `serveHttp + createFetch over memory, ${CLIENTS} clients, ${N} round trips`,
  group: `http: ${CLIENTS} clients at once`,
  async fn() {
    await clients(viaFixture);
  },
});

globalThis.addEventListener("unload", () => void all.close());
