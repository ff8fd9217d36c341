import { listen } from "../../mod.ts";
import { Exporter, Importer } from "../../netchan/mod.ts";
import type { TourPart } from "./_part.ts";

interface Price {
  sku: string;
  cents: bigint;
  at: Date;
}

export const netchan: TourPart = {
  title: "a typed channel between two endpoints (netchan over mux)",
  expect: [
    /imported 3 prices: tea 250n, jam 499n, bread 320n \(Date kept: true\)/,
    /importing "nope" is refused: .*ChannelRefusedError.*"nope"/,
    /drain resolved: every price was received/,
  ],
  async run(say) {
    await using listener = listen({ transport: "memory", name: "tour-netchan" });
    await using exp = new Exporter();
    const prices = exp.export<Price>("prices", "recv").getWriter();
    exp.serve(listener);
    await using imp = await Importer.connect({ transport: "memory", name: "tour-netchan" });
    const incoming = imp.import<Price>("prices", "recv", { count: 3, bufferSize: 2 });
    const writing = (async () => {
      for (const [sku, cents] of [["tea", 250n], ["jam", 499n], ["bread", 320n]] as const) {
        await prices.write({ sku, cents, at: new Date() });
      }
    })();
    const got = await Array.fromAsync(incoming);
    await writing;
    say(
      `imported ${got.length} prices: ${got.map((p) => `${p.sku} ${p.cents}n`).join(", ")} (Date kept: ${
        got.every((p) => p.at instanceof Date)
      })`,
    );
    const err = await imp.import("nope", "recv").getReader().read().catch((e) => e);
    say(`importing "nope" is refused: ${err.name}: ${err.message}`);
    await exp.drain({ signal: AbortSignal.timeout(5000) });
    say("drain resolved: every price was received by the importer's reader");
  },
};
