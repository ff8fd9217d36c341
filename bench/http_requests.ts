/**
 * `N` requests to a small JSON handler through `serveHttp` + `createFetch`
 * over a memory listener, one at a time, then exit: a whole process to time
 * from outside (`/usr/bin/time -v`), for comparing the CPU time two
 * checkouts spend on the same requests, which a loaded machine disturbs less
 * than it does a wall-clock rate.
 *
 *     deno run -A bench/http_requests.ts [N]
 */

import { listen } from "../mod.ts";
import { serveHttp } from "../http/mod.ts";
import { handler } from "./_http_work.ts";

const n = Number(Deno.args[0] ?? 20000);
await using fixture = serveHttp(listen({ transport: "memory" }), handler);
for (let i = 0; i < n; i++) await (await fixture.fetch("http://app/items")).json();
