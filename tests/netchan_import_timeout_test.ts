import assert from "node:assert/strict";
import { pipe } from "../mod.ts";
import { mux } from "../mux/mod.ts";
import { Exporter } from "../netchan/mod.ts";

Deno.test("an exporter closes a stream that never sends its IMPORT, after importTimeout, and serves the conn on", async () => {
  const [a, b] = pipe();
  await using exp = new Exporter({ importTimeout: 100 });
  exp.export<number>("numbers", "recv");
  const served = exp.serveConn(a);
  const session = mux(b, { role: "client" });
  const silent = await session.open();
  // The exporter ends the silent stream: its reads reach EOF (or fail), they do not wait for ever.
  const read = await Promise.race([
    silent.read(new Uint8Array(1)).then((n) => `read ${n}`, (e) => `failed ${e.name}`),
    new Promise<string>((resolve) => setTimeout(() => resolve("still open"), 5000)),
  ]);
  assert.notEqual(read, "still open");
  // Only that stream ended: the session still answers.
  assert.ok(await session.ping({ signal: AbortSignal.timeout(5000) }) >= 0);
  session.close();
  await served;
});

Deno.test("importTimeout must be a whole number of ms", () => {
  assert.throws(() => new Exporter({ importTimeout: 0 }), RangeError);
  assert.throws(() => new Exporter({ importTimeout: 1.5 }), TypeError);
});
