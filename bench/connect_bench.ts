/**
 * What a connection costs to open and close, between two processes: a raw
 * Deno server in another process (`bench/_socket_peer.ts`) accepts and
 * closes; this process connects and closes, with raw `Deno.connect` and
 * with tether's `connect()`, over Unix sockets and TCP. The server is the
 * same for both, so the difference is the client side's.
 *
 * Target (issue 13): tether ≤ 1.2× raw.
 *
 * As a `deno bench` file, one group per transport, raw as the baseline, 100
 * connects per iteration (the server drains its backlog between iterations,
 * outside the timing). Run directly, it plays interleaved rounds (100 raw
 * connects, 100 tether connects, in alternating order) and prints the
 * ratio of each round, which is what the target is judged on:
 *
 *     deno run -A bench/connect_bench.ts [rounds]
 */

import { connect } from "../mod.ts";

/** Connects per batch: under the kernel's listen backlog, so the server never falls behind by a full one. */
const BATCH = 100;

interface Peer {
  path: string;
  port: number;
  /** Resolves once the server has taken the next batch. */
  drained(): Promise<void>;
  stop(): Promise<void>;
}

async function startPeer(): Promise<Peer> {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/connect.sock`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./_socket_peer.ts", import.meta.url).pathname, path, "close", String(BATCH)],
    stdin: "piped", // the server exits once this closes
    stdout: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const line = async () => {
    for (;;) {
      const end = buffered.indexOf("\n");
      if (end !== -1) {
        const text = buffered.slice(0, end);
        buffered = buffered.slice(end + 1);
        if (text.startsWith("error")) throw new Error(`the server: ${text}`);
        return text;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error("the server exited");
      buffered += value;
    }
  };
  const port = Number(await line());
  return {
    path,
    port,
    drained: async () => void await line(),
    async stop() {
      child.kill();
      await child.status;
      await reader.cancel().catch(() => {});
      await Deno.remove(dir, { recursive: true });
    },
  };
}

type Kind = "unix" | "tcp";
type Side = "raw" | "tether";

function opener(peer: Peer, kind: Kind, side: Side): () => Promise<{ close(): void }> {
  const { path, port } = peer;
  if (side === "raw") {
    return kind === "unix"
      ? () => Deno.connect({ transport: "unix", path })
      : () => Deno.connect({ transport: "tcp", hostname: "127.0.0.1", port });
  }
  return kind === "unix"
    ? () => connect({ transport: "unix", path })
    : () => connect({ transport: "tcp", hostname: "127.0.0.1", port });
}

/** `BATCH` sequential connect + close; milliseconds taken. */
async function batch(open: () => Promise<{ close(): void }>): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < BATCH; i++) (await open()).close();
  return performance.now() - start;
}

if (import.meta.main) {
  const rounds = Number(Deno.args[0] ?? 40);
  const peer = await startPeer();
  try {
    console.log(`connect + close, ${BATCH} per batch, ${rounds} interleaved rounds, ${Deno.version.deno}\n`);
    console.log(
      "| transport | raw µs/conn | tether µs/conn | tether/raw, all rounds | per round: median | min–max | fastest batches |",
    );
    console.log("| --- | --- | --- | --- | --- | --- | --- |");
    for (const kind of ["unix", "tcp"] as const) {
      const raw = opener(peer, kind, "raw");
      const tether = opener(peer, kind, "tether");
      for (let i = 0; i < 5; i++) { // warm-up
        await batch(raw), await peer.drained();
        await batch(tether), await peer.drained();
      }
      let rawTotal = 0;
      let tetherTotal = 0;
      let rawBest = Infinity;
      let tetherBest = Infinity;
      const ratios: number[] = [];
      for (let round = 0; round < rounds; round++) {
        const order = round % 2 === 0 ? [raw, tether] : [tether, raw];
        const times: number[] = [];
        for (const open of order) {
          times.push(await batch(open));
          await peer.drained();
        }
        const [rawTime, tetherTime] = round % 2 === 0 ? times : [times[1], times[0]];
        rawTotal += rawTime;
        tetherTotal += tetherTime;
        rawBest = Math.min(rawBest, rawTime);
        tetherBest = Math.min(tetherBest, tetherTime);
        ratios.push(tetherTime / rawTime);
      }
      ratios.sort((a, b) => a - b);
      const perConn = (ms: number) => (ms / rounds / BATCH * 1000).toFixed(1);
      console.log(
        `| ${kind} | ${perConn(rawTotal)} | ${perConn(tetherTotal)} | ${
          (tetherTotal / rawTotal).toFixed(2)
        }× | ` +
          `${ratios[rounds >> 1].toFixed(2)}× | ${ratios[0].toFixed(2)}–${ratios.at(-1)!.toFixed(2)}× | ` +
          `${(tetherBest / rawBest).toFixed(2)}× |`,
      );
    }
  } finally {
    await peer.stop();
  }
} else {
  // The server exits with this process: its stdin closes then.
  const peer = await startPeer();
  for (const kind of ["unix", "tcp"] as const) {
    for (const side of ["raw", "tether"] as const) {
      const open = opener(peer, kind, side);
      Deno.bench({
        name: `${kind}: ${
          side === "raw" ? "raw Deno.connect" : "tether connect()"
        } + close, ${BATCH} connects`,
        group: `${kind} connect + close, ${BATCH} per iteration, against a raw server in another process`,
        baseline: side === "raw",
        async fn(b) {
          b.start();
          for (let i = 0; i < BATCH; i++) (await open()).close();
          b.end();
          await peer.drained();
        },
      });
    }
  }
}
