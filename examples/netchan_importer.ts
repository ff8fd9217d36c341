// Another process imports it:
//   deno run -A examples/netchan_importer.ts /tmp/prices.sock
import { Importer } from "@tether/tether/netchan";

const path = Deno.args[0] ?? "/tmp/prices.sock";
await using imp = await Importer.connect({ transport: "unix", path, signal: AbortSignal.timeout(5000) });
for await (
  const { sku, cents, at } of imp.import<{ sku: string; cents: bigint; at: Date }>("prices", "recv", {
    count: 3,
  })
) {
  console.log(`${sku}: ${cents} cents at ${at.toISOString()}`);
}
