/**
 * The work the netchan benches time, shared by `netchan_bench.ts` (through
 * `deno bench`) and `netchan_rounds.ts` (paired rounds): 10,000 small
 * objects `{ id, name, at: Date, tags: string[] }` from one end to the other,
 * decoded, either as raw `frames()` messages of the codec's bytes or through
 * a netchan channel.
 */

import type { Conn } from "../mod.ts";
import { frames } from "../mod.ts";
import { Exporter, Importer, msgpackCodec } from "../netchan/mod.ts";

/** How many objects one run moves. */
export const COUNT = 10_000;

const objects = Array.from({ length: COUNT }, (_, i) => ({
  id: i,
  name: `user-${i}`,
  at: new Date(1_700_000_000_000 + i),
  tags: ["alpha", "beta", String(i % 7)],
}));

/** The baseline: each object encoded by the codec and sent as one `frames()` message. */
export async function rawFrames(a: Conn, b: Conn): Promise<void> {
  const sender = frames(a), receiver = frames(b);
  const sending = (async () => {
    for (const o of objects) await sender.send(msgpackCodec.encode(o));
  })();
  for (let i = 0; i < COUNT; i++) msgpackCodec.decode((await receiver.receive())!);
  await sending;
}

/** The same objects through a channel, exporter and importer set up and torn down included. */
export async function channel(a: Conn, b: Conn): Promise<void> {
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
