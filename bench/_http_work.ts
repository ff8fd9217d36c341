/** What the HTTP bench (`http_bench.ts`) and its paired rounds (`http_rounds.ts`) share. */

import http from "node:http";
import { type Dialer, listen } from "../mod.ts";
import { serveHttp } from "../http/mod.ts";
import { toDuplex } from "../node/mod.ts";

/** Requests per iteration. */
export const N = 200;
/** Clients at once in the concurrent case. */
export const CLIENTS = 8;

/** The small JSON handler every case serves. */
export const handler = (req: Request): Response =>
  Response.json({ ok: true, path: new URL(req.url).pathname });

/**
 * Node's http.Server and http.request over a memory listener, with no Web
 * `Request`/`Response` on either side; `dialer` reaches that server too.
 */
export function nodeHttpOverMemory(): { get(): Promise<unknown>; dialer: Dialer; close(): void } {
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
    dialer,
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

/** `N` requests, one after the other. */
export async function oneAtATime(get: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < N; i++) await get();
}

/** `N` requests made by `CLIENTS` clients at once. */
export async function clients(get: () => Promise<unknown>): Promise<void> {
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    for (let i = 0; i < N / CLIENTS; i++) await get();
  }));
}

/**
 * The servers every case reaches: `Deno.serve` on a loopback TCP port (with
 * the platform `fetch`: `viaNative`), `serveHttp` on a memory listener (with
 * its `fetch`: `viaFixture`), and Node's `http` alone over memory.
 */
export function servers(): {
  viaNative(): Promise<unknown>;
  viaFixture(): Promise<unknown>;
  nodeOnly: ReturnType<typeof nodeHttpOverMemory>;
  close(): Promise<void>;
} {
  const fixture = serveHttp(listen({ transport: "memory" }), handler);
  const native = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  const nativeUrl = `http://127.0.0.1:${native.addr.port}/items`;
  const nodeOnly = nodeHttpOverMemory();
  return {
    viaNative: () => fetch(nativeUrl).then((res) => res.json()),
    viaFixture: () => fixture.fetch("http://app/items").then((res) => res.json()),
    nodeOnly,
    async close() {
      fixture.close();
      nodeOnly.close();
      await native.shutdown();
    },
  };
}
