/**
 * ipc against node-ipc 9.2.1 (pinned; the last release before its 2022
 * protestware) in the same run, each side in processes of its own over a
 * Unix socket, and ipc's 4 KiB messages against the raw conn.
 *
 *     deno run -A bench/ipc_bench.ts [rounds]
 *
 * Needs Node and npm (node-ipc is installed once into ~/.cache). A round
 * trip or a connect is the median of its samples (thousands of trips, 200
 * connects after 20 to warm up), robust to the stalls a shared machine adds;
 * a one-way rate is messages over time on the receiving server. Each group
 * runs its baseline and candidates in turn, `rounds` times over (default
 * 3); the table gives each one's median, and its ratio to the baseline as
 * the median of the rounds' ratios (with their range), so that a load that
 * drifts between rounds moves baseline and candidate alike.
 */

const NODE_IPC_VERSION = "9.2.1";
const rounds = Number(Deno.args[0] ?? 3);
const here = new URL(".", import.meta.url).pathname;
const cache = `${Deno.env.get("HOME") ?? "/tmp"}/.cache/tether-bench/node-ipc-${NODE_IPC_VERSION}`;

async function run(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
) {
  const out = await new Deno.Command(cmd, { args, ...options, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

async function installNodeIpc(): Promise<void> {
  try {
    await Deno.stat(`${cache}/node_modules/node-ipc/package.json`);
  } catch {
    await Deno.mkdir(cache, { recursive: true });
    await run("npm", ["install", "--no-audit", "--no-fund", "--silent", `node-ipc@${NODE_IPC_VERSION}`], {
      cwd: cache,
    });
  }
}

type Side = { cmd: string; args: string[]; env?: Record<string, string> };

const node = (...args: string[]): Side => ({
  cmd: "node",
  args: [`${here}node_ipc_peer.cjs`, ...args],
  env: { NODE_PATH: `${cache}/node_modules` },
});
const tether = (...args: string[]): Side => ({
  cmd: Deno.execPath(),
  args: ["run", "-A", `${here}ipc_bench_peer.ts`, ...args],
});

/** Starts `server` (until it says "ready"), runs `client`, and returns the result one of them reports. */
async function measure(server: Side, client: Side): Promise<Record<string, number>> {
  const s = new Deno.Command(server.cmd, {
    args: server.args,
    env: server.env,
    stdout: "piped",
    stderr: "inherit",
  })
    .spawn();
  const lines = s.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const nextLine = async () => {
    while (!text.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) return null;
      text += value;
    }
    const line = text.slice(0, text.indexOf("\n"));
    text = text.slice(text.indexOf("\n") + 1);
    return JSON.parse(line);
  };
  if (await nextLine() !== "ready") throw new Error(`${server.args.join(" ")} did not start`);
  const c = new Deno.Command(client.cmd, {
    args: client.args,
    env: client.env,
    stdout: "piped",
    stderr: "inherit",
  })
    .spawn();
  const clientOut = c.output();
  const fromServer = nextLine();
  const result = await Promise.race([
    fromServer,
    clientOut.then((o) => {
      const t = new TextDecoder().decode(o.stdout).trim();
      return t === "" ? fromServer : JSON.parse(t.split("\n").at(-1)!);
    }),
  ]);
  try {
    s.kill("SIGKILL");
  } catch { /* exited */ }
  try {
    c.kill("SIGKILL");
  } catch { /* exited */ }
  await Promise.allSettled([s.status, clientOut]);
  await lines.cancel().catch(() => {});
  return result;
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)];
}

let id = 0;
const fresh = () => `tb${Deno.pid}x${id++}`;
const socketDir = Deno.makeTempDirSync({ prefix: "tether-ipc-bench-" });

type Candidate = { bench: string; run: () => Promise<number> };

/**
 * Runs the baseline and the candidates in turn, `rounds` times over: a
 * machine whose load drifts moves them all alike within a round. Gives each
 * one's median, and the median of its ratios to the baseline of the same
 * round (`higher` says whether more is better).
 */
async function group(
  name: string,
  baseline: Candidate,
  candidates: Candidate[],
  format: (value: number) => string,
  higher: boolean,
): Promise<void> {
  const all = [baseline, ...candidates];
  const values = all.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < all.length; i++) values[i].push(await all[i].run());
  }
  row(name, baseline.bench, format(median(values[0])), "baseline");
  candidates.forEach((c, i) => {
    const ratios = values[i + 1].map((v, r) => higher ? v / values[0][r] : values[0][r] / v);
    const range = rounds > 1 ? ` (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})` : "";
    row(
      name,
      c.bench,
      format(median(values[i + 1])),
      `${median(ratios).toFixed(2)}×${higher ? "" : " (speed)"}${range}`,
    );
  });
}

await installNodeIpc();
const N = 200_000;
const rows: string[][] = [];
const row = (group: string, bench: string, value: string, ratio: string) =>
  rows.push([group, bench, value, ratio]);
const rate = (n: number) => `${(n / 1000).toFixed(1)} k/s`;
const encryptions = ["encrypted", "plain"];

// One-way 64 B messages, client to server.
await group(
  "one-way 64 B",
  {
    bench: `node-ipc ${NODE_IPC_VERSION}`,
    run: async () => {
      const sid = `n${fresh()}`;
      return (await measure(node("server-count", sid, String(N)), node("client-send", sid, String(N), "64")))
        .perSecond;
    },
  },
  encryptions.map((enc) => ({
    bench: `tether ipc, ${enc}`,
    run: async () => {
      const name = fresh();
      return (await measure(
        tether("server-count", name, String(N), enc),
        tether("client-send", name, String(N), "64", enc),
      )).perSecond;
    },
  })),
  rate,
  true,
);

// Round trips of 64 B.
const TRIPS = 5000;
await group(
  "round trip 64 B",
  {
    bench: `node-ipc ${NODE_IPC_VERSION} (median trip)`,
    run: async () => {
      const sid = `n${fresh()}`;
      return (await measure(node("server-echo", sid), node("client-rtt", sid, String(TRIPS), "64")))
        .microseconds;
    },
  },
  encryptions.map((enc) => ({
    bench: `tether ipc, ${enc} (median trip)`,
    run: async () => {
      const name = fresh();
      return (await measure(
        tether("server-echo", name, enc),
        tether("client-rtt", name, String(TRIPS), "64", enc),
      )).microseconds;
    },
  })),
  (v) => `${v.toFixed(1)} µs`,
  false,
);

// Connects.
const CONNECTS = 200;
await group(
  "connect",
  {
    bench: `node-ipc ${NODE_IPC_VERSION} (no handshake; median)`,
    run: async () => {
      const sid = `n${fresh()}`;
      return (await measure(node("server-echo", sid), node("client-connect", sid, String(CONNECTS))))
        .milliseconds;
    },
  },
  encryptions.map((enc) => ({
    bench: `tether ipc, ${enc} (with its handshake; median)`,
    run: async () => {
      const name = fresh();
      return (await measure(
        tether("server-echo", name, enc),
        tether("client-connect", name, String(CONNECTS), enc),
      )).milliseconds;
    },
  })),
  (v) => `${v.toFixed(3)} ms`,
  false,
);

// 4 KiB messages against the raw conn.
const M = 50_000, SIZE = 4096;
await group(
  "4 KiB",
  {
    bench: "raw unix conn, 4 KiB writes",
    run: async () => {
      const path = `${socketDir}/${fresh()}.sock`;
      return (await measure(
        tether("raw-server-count", path, String(M), String(SIZE)),
        tether("raw-client-send", path, String(M), String(SIZE)),
      )).perSecond;
    },
  },
  encryptions.map((enc) => ({
    bench: `tether ipc, ${enc}`,
    run: async () => {
      const name = fresh();
      return (await measure(
        tether("server-count", name, String(M), enc),
        tether("client-send", name, String(M), String(SIZE), enc),
      )).perSecond;
    },
  })),
  (v) => `${rate(v)}, ${(v * SIZE / 1e6).toFixed(0)} MB/s`,
  true,
);

Deno.removeSync(socketDir, { recursive: true });
console.log(
  `Deno ${Deno.version.deno}, Node ${(await run("node", ["--version"])).trim()}, ${
    new Date().toISOString().slice(0, 10)
  }, median of ${rounds} rounds, each running the baseline and the candidates in turn\n`,
);
console.log("| group | bench | result | vs baseline (median of the rounds' ratios, range) |");
console.log("| --- | --- | --- | --- |");
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
