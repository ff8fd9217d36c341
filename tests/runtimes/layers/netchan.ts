/**
 * netchan (`@tether/tether/netchan`): typed values through an exported
 * channel, in one isolate over a memory listener, and from a worker whose
 * exporter serves worker conns (the importer connects with
 * `{ transport: "worker" }`).
 */

import { listen, type WorkerEndpoint } from "../../../mod.ts";
import { Exporter, Importer } from "../../../netchan/mod.ts";
import { check, simpleLayer, withWorker } from "../suite.ts";

interface Price {
  sku: string;
  cents: bigint;
  at: Date;
}

const PRICES: Price[] = [
  { sku: "tea", cents: 250n, at: new Date(0) },
  { sku: "coffee", cents: 2n ** 70n, at: new Date(86_400_000) },
];

async function receiveAll(imp: Importer): Promise<Price[]> {
  const got: Price[] = [];
  for await (const price of imp.import<Price>("prices", "recv", { count: PRICES.length })) got.push(price);
  return got;
}

function checkPrices(got: Price[]): void {
  check(got.length === PRICES.length, `${got.length} values came`);
  for (const [i, price] of got.entries()) {
    const want = PRICES[i];
    check(
      price.sku === want.sku && price.cents === want.cents && price.at.getTime() === want.at.getTime(),
      `value ${i} came back changed`,
    );
  }
}

async function publish(exp: Exporter): Promise<void> {
  const writer = exp.export<Price>("prices", "recv").getWriter();
  for (const price of PRICES) await writer.write(price);
}

export const netchanLayer = simpleLayer("netchan", [
  {
    id: "bigints and dates through a channel over a memory listener",
    async run() {
      const listener = listen({ transport: "memory" });
      const exp = new Exporter();
      const publishing = publish(exp);
      exp.serve(listener);
      const imp = new Importer(await listener.dialer().dial());
      checkPrices(await receiveAll(imp));
      await publishing;
      imp.close();
      exp.close();
      listener.close();
    },
  },
  {
    id: "a channel a worker exports, imported over a worker conn",
    run: (host) =>
      withWorker(host, async (worker) => {
        const { fields, transfer } = worker.linkCommand();
        worker.send({ cmd: "netchan-export", name: "prices", ...fields }, transfer);
        check((await worker.next()).exporting === "prices", "the worker did not export");
        const imp = await Importer.connect({ transport: "worker", worker: worker.endpoint, name: "prices" });
        checkPrices(await receiveAll(imp));
        imp.close();
      }),
  },
], {
  /**
   * `{ cmd: "netchan-export", name, link? }`: exports "prices" (the values
   * above) on a worker listener `name`, and answers `{ exporting: name }`.
   */
  async "netchan-export"(m, reply) {
    const worker = (m.link ?? "parent") as WorkerEndpoint;
    const listener = listen({ transport: "worker", worker, name: m.name as string });
    const exp = new Exporter();
    const publishing = publish(exp);
    reply({ exporting: m.name });
    exp.serve(listener);
    await publishing;
  },
});
