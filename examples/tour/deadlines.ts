import { pipe } from "../../mod.ts";
import type { TourPart } from "./_part.ts";

export const deadlines: TourPart = {
  title: "deadlines and backpressure on pipe({ bufferSize: 1024 })",
  expect: [/TimeoutError/, /stopped after 1024 bytes/, /reads every queued byte after close: 1024, then EOF/],
  async run(say) {
    const [a, b] = pipe({ bufferSize: 1024 });
    const err = await b.read(new Uint8Array(8), { signal: AbortSignal.timeout(50) }).catch((e) => e);
    say(`a read with a 50 ms deadline and nothing to read: ${err.name}`);
    let written = 0;
    while (true) {
      const ok = await a.write(new Uint8Array(256), { signal: AbortSignal.timeout(50) }).then(
        () => true,
        () => false,
      );
      if (!ok) break;
      written += 256;
    }
    say(`a writer whose peer never reads stopped after ${written} bytes (the window is 1024)`);
    a.close();
    let drained = 0;
    for (let n; (n = await b.read(new Uint8Array(4096))) !== null;) drained += n;
    say(`the peer still reads every queued byte after close: ${drained}, then EOF`);
    b.close();
  },
};
