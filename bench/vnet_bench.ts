/**
 * Requests per second of a small JSON `Deno.serve` handler reached by
 * `fetch` through the virtual network, against the same handler served by
 * the real `Deno.serve` on a loopback TCP port and reached by the real
 * `fetch` (the baseline), in the same run.
 *
 * Target: ≥ 1× (no kernel in the way should not be slower than the kernel).
 *
 * With no fault in force at its address, fetch hands the request to the
 * handler in-process; with one, it goes as HTTP/1.1 bytes over a virtual
 * connection (Node's http on both ends). Both are measured; the second with
 * a fault that never strikes (a reset after 2^53 bytes) to force the bytes.
 */

import { virtualNetwork } from "../vnet/mod.ts";

const N = 200;
const CLIENTS = 8;
const handler = (req: Request) => Response.json({ ok: true, path: new URL(req.url).pathname });

// The originals, taken before the network patches them.
const realFetch = globalThis.fetch;
const native = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
const nativeUrl = `http://127.0.0.1:${native.addr.port}/items`;

const net = virtualNetwork();
const virtual = Deno.serve({ hostname: "127.0.0.1", port: 8000, onListen() {} }, handler);
const bytes = Deno.serve({ hostname: "127.0.0.1", port: 8001, onListen() {} }, handler);
net.fault({ port: 8001 }, { type: "reset", afterBytes: Number.MAX_SAFE_INTEGER });
const virtualFetch = globalThis.fetch;
const virtualUrl = "http://localhost:8000/items";
const bytesUrl = "http://localhost:8001/items";

const viaNative = () => realFetch(nativeUrl).then((res) => res.json());
const viaVirtual = () => virtualFetch(virtualUrl).then((res) => res.json());
const viaBytes = () => virtualFetch(bytesUrl).then((res) => res.json());

async function oneAtATime(get: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < N; i++) await get();
}

async function clients(get: () => Promise<unknown>): Promise<void> {
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    for (let i = 0; i < N / CLIENTS; i++) await get();
  }));
}

Deno.bench({
  name: `Deno.serve + fetch over loopback TCP, ${N} requests`,
  group: "vnet: one request at a time",
  baseline: true,
  async fn() {
    await oneAtATime(viaNative);
  },
});
Deno.bench({
  name: `Deno.serve + fetch through the virtual network, ${N} requests`,
  group: "vnet: one request at a time",
  async fn() {
    await oneAtATime(viaVirtual);
  },
});
Deno.bench({
  name: `Deno.serve + fetch through the virtual network as HTTP/1.1 bytes (a fault in force), ${N} requests`,
  group: "vnet: one request at a time",
  async fn() {
    await oneAtATime(viaBytes);
  },
});
Deno.bench({
  name: `Deno.serve + fetch over loopback TCP, ${CLIENTS} clients, ${N} requests`,
  group: `vnet: ${CLIENTS} clients at once`,
  baseline: true,
  async fn() {
    await clients(viaNative);
  },
});
Deno.bench({
  name: `Deno.serve + fetch through the virtual network, ${CLIENTS} clients, ${N} requests`,
  group: `vnet: ${CLIENTS} clients at once`,
  async fn() {
    await clients(viaVirtual);
  },
});

Deno.bench({
  name: `Deno.serve + fetch through the virtual network as HTTP/1.1 bytes, ${CLIENTS} clients, ${N} requests`,
  group: `vnet: ${CLIENTS} clients at once`,
  async fn() {
    await clients(viaBytes);
  },
});

globalThis.addEventListener("unload", () => {
  void bytes.shutdown();
  void virtual.shutdown();
  void net.close();
  void native.shutdown();
});
