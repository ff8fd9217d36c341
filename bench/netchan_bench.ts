/**
 * Small objects through a netchan channel against the same objects encoded
 * with the same codec and sent as raw `frames()` messages, over `pipe()`
 * and over a Unix socket, in the same run. Each iteration moves 10,000
 * objects `{ id, name, at: Date, tags: string[] }` from one end to the
 * other and decodes them. Target: the channel at ≥ 0.7× the raw rate.
 */

import { type Conn, connect, listen, pipe } from "../mod.ts";
import { channel, COUNT, rawFrames } from "./_netchan_work.ts";

const socketDir = Deno.makeTempDirSync({ prefix: "tether-netchan-bench-" });
const socketListener = await listen({ transport: "unix", path: `${socketDir}/bench.sock` });
globalThis.addEventListener("unload", () => {
  socketListener.close();
  Deno.removeSync(socketDir, { recursive: true });
});

const transports: { name: string; pair: () => Promise<[Conn, Conn]> | [Conn, Conn] }[] = [
  { name: "pipe", pair: () => pipe() },
  {
    name: "unix socket",
    pair: () =>
      Promise.all([
        connect({ transport: "unix", path: socketListener.addr.address }),
        socketListener.accept(),
      ]),
  },
];

for (const { name, pair } of transports) {
  const group = `small objects over ${name}`;
  for (
    const [label, run, baseline] of [["raw frames() of msgpackCodec bytes", rawFrames, true], [
      "netchan channel",
      channel,
      false,
    ]] as const
  ) {
    Deno.bench(`${name}: ${label}, ${COUNT} × 60 B`, { group, baseline }, async (b) => {
      const [x, y] = await pair();
      b.start();
      await run(x, y);
      b.end();
      x.close();
      y.close();
    });
  }
}
