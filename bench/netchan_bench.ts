/**
 * Small objects through a netchan channel against the same objects encoded
 * with the same codec and sent as raw `frames()` messages, over `pipe()`
 * and over a Unix socket, in the same run. Each iteration moves 10,000
 * objects `{ id, name, at: Date, tags: string[] }` from one end to the
 * other and decodes them. Target: the channel at ≥ 0.7× the raw rate.
 */

import { type Conn, connect, frames, listen, pipe } from "../mod.ts";
import { Exporter, Importer, msgpackCodec } from "../netchan/mod.ts";

const COUNT = 10_000;
const objects = Array.from({ length: COUNT }, (_, i) => ({
  id: i,
  name: `user-${i}`,
  at: new Date(1_700_000_000_000 + i),
  tags: ["alpha", "beta", String(i % 7)],
}));

async function rawFrames(a: Conn, b: Conn): Promise<void> {
  const sender = frames(a), receiver = frames(b);
  const sending = (async () => {
    for (const o of objects) await sender.send(msgpackCodec.encode(o));
  })();
  for (let i = 0; i < COUNT; i++) msgpackCodec.decode((await receiver.receive())!);
  await sending;
}

async function channel(a: Conn, b: Conn): Promise<void> {
  const exp = new Exporter();
  const writer = exp.export<unknown>("objects", "recv").getWriter();
  const served = exp.serveConn(a);
  const imp = new Importer(b);
  const reader = imp.import<unknown>("objects", "recv", { count: COUNT }).getReader();
  const writing = (async () => {
    for (const o of objects) await writer.write(o);
  })();
  for (let i = 0; i < COUNT; i++) await reader.read();
  await writing;
  imp.close();
  exp.close();
  await served;
}

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
