// One process exports a channel on a Unix socket:
//   deno run -A examples/netchan_exporter.ts /tmp/prices.sock
import { listen } from "@tether/tether";
import { Exporter } from "@tether/tether/netchan";

const path = Deno.args[0] ?? "/tmp/prices.sock";
await using listener = await listen({ transport: "unix", path });
await using exp = new Exporter();
const prices = exp.export<{ sku: string; cents: bigint; at: Date }>("prices", "recv").getWriter();
exp.serve(listener);
console.log(`exporting "prices" on ${path}`);

for (const [sku, cents] of [["tea", 250n], ["jam", 499n], ["bread", 320n]] as const) {
  await prices.write({ sku, cents, at: new Date() }); // waits while no importer has room
}
await exp.drain({ signal: AbortSignal.timeout(30_000) }); // every price reached an importer's reader
console.log("all prices delivered");
