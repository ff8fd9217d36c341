/**
 * ipc against node-ipc 9.2.1 (pinned; the last release before its 2022
 * protestware) in the same run, each side in processes of its own over a
 * Unix socket, and ipc's 4 KiB messages against the raw conn.
 *
 *     deno run -A bench/ipc_bench.ts [rounds] [--only=one-way,round-trip,connect,4k] [--vs=DIR] [--pin]
 *
 * `--vs=DIR` runs the tether peers of another checkout too (a `git worktree
 * add DIR COMMIT`), in the same rounds: before and after in one sitting.
 * Round trips and connects also run over a bare `Deno.UnixConn` (the
 * floor), and each tether figure says how many times the floor of its round
 * it took.
 *
 * Needs Node and npm (node-ipc is installed once into ~/.cache). A round
 * trip or a connect is the median of its samples (thousands of trips, 200
 * connects after 200 to warm up), robust to the stalls a shared machine adds;
 * a one-way rate is messages over time on the receiving server. Each group
 * runs its baseline and candidates in turn, `rounds` times over (default
 * 3); the table gives each one's median, and its ratio to the baseline as
 * the median of the rounds' ratios (with their range), so that a load that
 * drifts between rounds moves baseline and candidate alike.
 */

const NODE_IPC_VERSION = "9.2.1";
const flags = Deno.args.filter((a) => a.startsWith("--"));
const rounds = Number(Deno.args.find((a) => !a.startsWith("--")) ?? 3);
const here = new URL(".", import.meta.url).pathname;
/** `--vs=DIR`: also run the tether peers of another checkout (e.g. a `git worktree` of an older commit). */
const vs = flags.find((f) => f.startsWith("--vs="))?.slice("--vs=".length).replace(/\/$/, "");
/**
 * `--pin`: the server on CPU 0, the client on CPU 1 (with `taskset`), so the
 * scheduler neither moves them nor puts them on one CPU: on a shared
 * machine, far steadier figures (a quiet two-core machine's behaviour).
 */
const pin = flags.includes("--pin");
/** `--only=one-way,round-trip,connect,4k`: run just those groups. */
const only = flags.find((f) => f.startsWith("--only="))?.slice("--only=".length).split(",");
const wanted = (group: string) => only === undefined || only.includes(group);
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
const tetherAt = (dir: string) => (...args: string[]): Side => ({
  cmd: Deno.execPath(),
  args: ["run", "-A", `${dir}/ipc_bench_peer.ts`, ...args],
});
const tether = tetherAt(here.replace(/\/$/, ""));
/** This checkout's peers, and with `--vs` the other one's, each labelled. */
const trees: [string, typeof tether][] = vs === undefined
  ? [["", tether]]
  : [[" (this tree)", tether], [` (${vs.split("/").at(-1)})`, tetherAt(`${vs}/bench`)]];

/** `side` as a command, pinned to `cpu` with `--pin`. */
function command(side: Side, cpu: number): Deno.Command {
  const [cmd, args] = pin ? ["taskset", ["-c", String(cpu), side.cmd, ...side.args]] : [side.cmd, side.args];
  return new Deno.Command(cmd, { args, env: side.env, stdout: "piped", stderr: "inherit" });
}

/** Starts `server` (until it says "ready"), runs `client`, and returns the result one of them reports. */
async function measure(server: Side, client: Side): Promise<Record<string, number>> {
  const s = command(server, 0).spawn();
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
  const c = command(client, 1).spawn();
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
  floor?: Candidate,
): Promise<void> {
  const all = [baseline, ...candidates];
  const values = all.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < all.length; i++) values[i].push(await all[i].run());
  }
  row(name, baseline.bench, format(median(values[0])), "baseline");
  const spread = (ratios: number[]) =>
    `${median(ratios).toFixed(2)}×` +
    (rounds > 1 ? ` (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})` : "");
  const floorValues = floor === undefined ? undefined : values[all.indexOf(floor)];
  candidates.forEach((c, i) => {
    const ratios = values[i + 1].map((v, r) => higher ? v / values[0][r] : values[0][r] / v);
    // What a load that drifts between rounds cannot move: how far above the floor of the same round.
    const aboveFloor = floorValues === undefined || c === floor
      ? ""
      : `; ${spread(values[i + 1].map((v, r) => v / floorValues[r]))} the floor`;
    row(
      name,
      c.bench,
      format(median(values[i + 1])),
      `${spread(ratios)}${higher ? "" : " (speed)"}${aboveFloor}`,
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

const tetherCandidates = (
  measureOne: (side: typeof tether, enc: string) => Promise<number>,
): Candidate[] =>
  encryptions.flatMap((enc) =>
    trees.map(([label, side]) => ({ bench: `tether ipc, ${enc}${label}`, run: () => measureOne(side, enc) }))
  );

// One-way 64 B messages, client to server.
if (wanted("one-way")) {
  await group(
    "one-way 64 B",
    {
      bench: `node-ipc ${NODE_IPC_VERSION}`,
      run: async () => {
        const sid = `n${fresh()}`;
        return (await measure(
          node("server-count", sid, String(N)),
          node("client-send", sid, String(N), "64"),
        ))
          .perSecond;
      },
    },
    tetherCandidates(async (side, enc) => {
      const name = fresh();
      return (await measure(
        side("server-count", name, String(N), enc),
        side("client-send", name, String(N), "64", enc),
      )).perSecond;
    }),
    rate,
    true,
  );
}

// Round trips of 64 B, with the floor: the same trips over a bare Deno.UnixConn (and over tether's unix conn).
const TRIPS = 5000;
const rawTrips = (conn: "deno" | "tether"): Candidate => ({
  bench: conn === "deno" ? "raw Deno.UnixConn echo (the floor)" : "tether unix conn echo",
  run: async () => {
    const path = `${socketDir}/${fresh()}.sock`;
    return (await measure(
      tether("raw-server-echo", path, conn),
      tether("raw-client-rtt", path, String(TRIPS), "64", conn),
    )).microseconds;
  },
});
const tripFloor = rawTrips("deno");
if (wanted("round-trip")) {
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
    [
      tripFloor,
      rawTrips("tether"),
      ...tetherCandidates(async (side, enc) => {
        const name = fresh();
        return (await measure(
          side("server-echo", name, enc),
          side("client-rtt", name, String(TRIPS), "64", enc),
        )).microseconds;
      }),
    ],
    (v) => `${v.toFixed(1)} µs`,
    false,
    tripFloor,
  );
}

// Connects, with the floor: a bare Deno.connect to a Deno.listen that accepts.
const CONNECTS = 200;
const connectFloor: Candidate = {
  bench: "raw Deno.connect, one byte each way (median; the floor)",
  run: async () => {
    const path = `${socketDir}/${fresh()}.sock`;
    return (await measure(
      tether("raw-server-echo", path, "deno"),
      tether("raw-client-connect", path, String(CONNECTS)),
    )).milliseconds;
  },
};
if (wanted("connect")) {
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
    [
      connectFloor,
      ...tetherCandidates(async (side, enc) => {
        const name = fresh();
        return (await measure(
          side("server-echo", name, enc),
          side("client-connect", name, String(CONNECTS), enc),
        )).milliseconds;
      }),
    ],
    (v) => `${v.toFixed(3)} ms`,
    false,
    connectFloor,
  );
}

// 4 KiB messages against the raw conn.
const M = 50_000, SIZE = 4096;
if (wanted("4k")) {
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
    tetherCandidates(async (side, enc) => {
      const name = fresh();
      return (await measure(
        side("server-count", name, String(M), enc),
        side("client-send", name, String(M), String(SIZE), enc),
      )).perSecond;
    }),
    (v) => `${rate(v)}, ${(v * SIZE / 1e6).toFixed(0)} MB/s`,
    true,
  );
}

Deno.removeSync(socketDir, { recursive: true });
console.log(
  `Deno ${Deno.version.deno}, Node ${(await run("node", ["--version"])).trim()}, ${
    new Date().toISOString().slice(0, 10)
  }, median of ${rounds} rounds, each running the baseline and the candidates in turn${
    pin ? "; server pinned to CPU 0, client to CPU 1" : ""
  }\n`,
);
console.log(
  "| group | bench | result | vs baseline (median of the rounds' ratios, range); times the floor |",
);
console.log("| --- | --- | --- | --- |");
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
