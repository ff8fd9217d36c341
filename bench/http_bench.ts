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
 * N between them.
 */

import http from "node:http";
import { type Dialer, listen } from "../mod.ts";
import { serveHttp } from "../http/mod.ts";
import { toDuplex } from "../node/mod.ts";

const N = 200;
const CLIENTS = 8;
const handler = (req: Request) => Response.json({ ok: true, path: new URL(req.url).pathname });

const fixture = serveHttp(listen({ transport: "memory" }), handler);
const native = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
const nativeUrl = `http://127.0.0.1:${native.addr.port}/items`;
const nodeOnly = nodeHttpOverMemory();

/** Node's http.Server and http.request over a memory listener: the HTTP engine serveHttp and createFetch use. */
function nodeHttpOverMemory(): { get(): Promise<unknown>; close(): void } {
  const listener = listen({ transport: "memory" });
  const server = http.createServer((req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ ok: true, path: req.url }));
  });
  // Keeps Node's server from closing each conn after its response (see http/serve.ts).
  (server as unknown as { _handle: unknown })._handle = { close() {}, ref() {}, unref() {} };
  (async () => {
    for await (const conn of listener) server.emit("connection", toDuplex(conn, { allowHalfOpen: true }));
  })();
  const dialer: Dialer = listener.dialer();
  class MemoryAgent extends http.Agent {
    override createConnection(): ReturnType<http.Agent["createConnection"]> {
      return toDuplex(dialer.dial()) as unknown as ReturnType<http.Agent["createConnection"]>;
    }
  }
  const agent = new MemoryAgent({ keepAlive: true });
  return {
    get: () =>
      new Promise((resolve, reject) => {
        const req = http.request({ agent, path: "/items", headers: { host: "app" } }, (res) => {
          const parts: Uint8Array[] = [];
          res.on("data", (chunk) => parts.push(chunk));
          res.on("end", () => resolve(JSON.parse(new TextDecoder().decode(parts[0]))));
        });
        req.on("error", reject);
        req.end();
      }),
    close() {
      agent.destroy();
      listener.close();
    },
  };
}

async function oneAtATime(get: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < N; i++) await get();
}

async function clients(get: () => Promise<unknown>): Promise<void> {
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    for (let i = 0; i < N / CLIENTS; i++) await get();
  }));
}

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
