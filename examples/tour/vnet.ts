import { virtualNetwork } from "../../vnet/mod.ts";
import type { TourPart } from "./_part.ts";

/** The app under test, as it runs in production: a Deno.serve handler on port 8000. */
function startApp(): Deno.HttpServer {
  return Deno.serve(
    { port: 8000, onListen() {} },
    (req) => Response.json({ hello: new URL(req.url).pathname }),
  );
}

export const vnet: TourPart = {
  title: "a virtual network: an unchanged Deno.serve app, tested with no port, and a fault",
  expect: [/fetch answered: \{"hello":"\/world"\}/, /partitioned: ConnectionRefused/, /healed: 200/],
  async run(say) {
    await using net = virtualNetwork({ seed: 1 });
    await using _app = startApp();
    say(`fetch answered: ${JSON.stringify(await (await fetch("http://localhost:8000/world")).json())}`);
    const partition = net.fault({ port: 8000 }, { type: "partition" });
    const err = await fetch("http://localhost:8000/world").catch((e) => e);
    say(`partitioned: ${err.cause.name}`);
    partition.remove();
    const res = await fetch("http://localhost:8000/world");
    await res.body?.cancel();
    say(`healed: ${res.status}`);
  },
};
