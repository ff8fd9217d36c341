/**
 * Requests per second for a small JSON handler: through createFetch over a
 * memory listener (no kernel) against Deno.serve on a loopback TCP port with
 * the platform fetch (the baseline), in the same run.
 */

import { listen } from "../mod.ts";
import { serveHttp } from "../http/mod.ts";

const N = 200;
const handler = (req: Request) => Response.json({ ok: true, path: new URL(req.url).pathname });

const fixture = serveHttp(listen({ transport: "memory" }), handler);
const native = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
const nativeUrl = `http://127.0.0.1:${native.addr.port}/items`;

async function sequential(fetch: (url: string) => Promise<Response>, url: string): Promise<void> {
  for (let i = 0; i < N; i++) await (await fetch(url)).json();
}

async function concurrent(fetch: (url: string) => Promise<Response>, url: string): Promise<void> {
  await Promise.all(Array.from({ length: 8 }, async () => {
    for (let i = 0; i < N / 8; i++) await (await fetch(url)).json();
  }));
}

Deno.bench({
  name: `Deno.serve + fetch over loopback TCP, ${N} round trips`,
  group: "http: one at a time",
  baseline: true,
  async fn() {
    await sequential(fetch, nativeUrl);
  },
});
Deno.bench({
  name: `serveHttp + createFetch over memory, ${N} round trips`,
  group: "http: one at a time",
  async fn() {
    await sequential(fixture.fetch, "http://app/items");
  },
});
Deno.bench({
  name: `Deno.serve + fetch over loopback TCP, 8 clients, ${N} round trips`,
  group: "http: 8 at a time",
  baseline: true,
  async fn() {
    await concurrent(fetch, nativeUrl);
  },
});
Deno.bench({
  name: `serveHttp + createFetch over memory, 8 clients, ${N} round trips`,
  group: "http: 8 at a time",
  async fn() {
    await concurrent(fixture.fetch, "http://app/items");
  },
});

globalThis.addEventListener("unload", () => {
  fixture.close();
  native.shutdown();
});
