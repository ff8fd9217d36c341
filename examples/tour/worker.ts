import { connect } from "../../mod.ts";
import { decoder, encoder, type TourPart } from "./_part.ts";

const PEER = new URL("../worker_peer.ts", import.meta.url);

export const worker: TourPart = {
  title: "conns to a worker, served like a socket server",
  expect: [
    /3 conns to worker:shout answered "ONE", "TWO", "THREE"/,
    /a worker that never reads held the writer back after \d+ KiB: TimeoutError/,
    /worker terminated: the open conn ended with ConnClosedError/,
  ],
  async run(say) {
    const peer = new Worker(PEER, { type: "module" });
    // The worker may still be starting: connects wait for it to listen, within their signal.
    const signal = AbortSignal.timeout(30_000);
    const words = ["one", "two", "three"];
    const answers = await Promise.all(words.map(async (word) => {
      await using conn = await connect({ transport: "worker", worker: peer, name: "shout", signal });
      await conn.write(encoder.encode(word));
      await conn.closeWrite();
      return decoder.decode(new Uint8Array(await new Response(conn.readable).arrayBuffer()));
    }));
    say(`${answers.length} conns to worker:shout answered ${answers.map((a) => `"${a}"`).join(", ")}`);

    // Credit across the port: a reader that does not read holds its writer back.
    const sleepy = await connect({ transport: "worker", worker: peer, name: "sleepy", signal });
    const chunk = new Uint8Array(16 * 1024);
    let written = 0;
    const stalled = await (async () => {
      while (true) {
        await sleepy.write(chunk, { signal: AbortSignal.timeout(200) });
        written += chunk.length;
      }
    })().catch((err: Error) => err.name);
    say(`a worker that never reads held the writer back after ${written / 1024} KiB: ${stalled}`);

    const ended = sleepy.read(new Uint8Array(1)).catch((err: Error) => err);
    peer.terminate();
    const err = await ended;
    say(`worker terminated: the open conn ended with ${err instanceof Error ? err.name : err}`);
    sleepy.close();
  },
};
