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

import { listen } from "../mod.ts";
import { serveHttp } from "../http/mod.ts";
import { CLIENTS, clients, handler, N, nodeHttpOverMemory, oneAtATime } from "./_http_work.ts";

const fixture = serveHttp(listen({ transport: "memory" }), handler);
const native = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
const nativeUrl = `http://127.0.0.1:${native.addr.port}/items`;
const nodeOnly = nodeHttpOverMemory();

const viaNative = () => fetch(nativeUrl).then((res) => res.json());
const viaFixture = () => fixture.fetch("http://app/items").then((res) => res.json());

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

globalThis.addEventListener("unload", () => {
  fixture.close();
  nodeOnly.close();
  void native.shutdown();
});
