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
 * a one-way rate is messages over time on the receiving server. Each figure
 * is the median of `rounds` runs (default 3); the table gives each ratio
 * against its baseline, measured in the same run.
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

async function series(f: () => Promise<number>): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < rounds; i++) xs.push(await f());
  return median(xs);
}

let id = 0;
const fresh = () => `tb${Deno.pid}x${id++}`;
const socketDir = Deno.makeTempDirSync({ prefix: "tether-ipc-bench-" });

await installNodeIpc();
const N = 200_000;
const rows: string[][] = [];
const row = (group: string, bench: string, value: string, ratio: string) =>
  rows.push([group, bench, value, ratio]);
const rate = (n: number) => `${(n / 1000).toFixed(1)} k/s`;

// One-way 64 B messages, client to server.
const nodeOneWay = await series(async () => {
  const sid = `n${fresh()}`;
  return (await measure(node("server-count", sid, String(N)), node("client-send", sid, String(N), "64")))
    .perSecond;
});
row("one-way 64 B", `node-ipc ${NODE_IPC_VERSION}`, rate(nodeOneWay), "baseline");
for (const enc of ["encrypted", "plain"]) {
  const value = await series(async () => {
    const name = fresh();
    return (await measure(
      tether("server-count", name, String(N), enc),
      tether("client-send", name, String(N), "64", enc),
    ))
      .perSecond;
  });
  row("one-way 64 B", `tether ipc, ${enc}`, rate(value), `${(value / nodeOneWay).toFixed(2)}×`);
}

// Round trips of 64 B.
const TRIPS = 5000;
const nodeTrip = await series(async () => {
  const sid = `n${fresh()}`;
  return (await measure(node("server-echo", sid), node("client-rtt", sid, String(TRIPS), "64"))).microseconds;
});
row("round trip 64 B", `node-ipc ${NODE_IPC_VERSION}`, `${nodeTrip.toFixed(1)} µs`, "baseline");
for (const enc of ["encrypted", "plain"]) {
  const value = await series(async () => {
    const name = fresh();
    return (await measure(
      tether("server-echo", name, enc),
      tether("client-rtt", name, String(TRIPS), "64", enc),
    ))
      .microseconds;
  });
  row(
    "round trip 64 B",
    `tether ipc, ${enc}`,
    `${value.toFixed(1)} µs`,
    `${(nodeTrip / value).toFixed(2)}× (speed)`,
  );
}

// Connects.
const CONNECTS = 200;
const nodeConnect = await series(async () => {
  const sid = `n${fresh()}`;
  return (await measure(node("server-echo", sid), node("client-connect", sid, String(CONNECTS))))
    .milliseconds;
});
row("connect", `node-ipc ${NODE_IPC_VERSION} (no handshake)`, `${nodeConnect.toFixed(3)} ms`, "baseline");
for (const enc of ["encrypted", "plain"]) {
  const value = await series(async () => {
    const name = fresh();
    return (await measure(
      tether("server-echo", name, enc),
      tether("client-connect", name, String(CONNECTS), enc),
    ))
      .milliseconds;
  });
  row(
    "connect",
    `tether ipc, ${enc} (with its handshake)`,
    `${value.toFixed(3)} ms`,
    `${(nodeConnect / value).toFixed(2)}× (speed)`,
  );
}

// 4 KiB messages against the raw conn.
const M = 50_000, SIZE = 4096;
const raw = await series(async () => {
  const path = `${socketDir}/${fresh()}.sock`;
  return (await measure(
    tether("raw-server-count", path, String(M), String(SIZE)),
    tether("raw-client-send", path, String(M), String(SIZE)),
  )).perSecond;
});
row(
  "4 KiB",
  "raw unix conn, 4 KiB writes",
  `${rate(raw)}, ${(raw * SIZE / 1e6).toFixed(0)} MB/s`,
  "baseline",
);
for (const enc of ["encrypted", "plain"]) {
  const value = await series(async () => {
    const name = fresh();
    return (await measure(
      tether("server-count", name, String(M), enc),
      tether("client-send", name, String(M), String(SIZE), enc),
    ))
      .perSecond;
  });
  row(
    "4 KiB",
    `tether ipc, ${enc}`,
    `${rate(value)}, ${(value * SIZE / 1e6).toFixed(0)} MB/s`,
    `${(value / raw).toFixed(2)}×`,
  );
}

Deno.removeSync(socketDir, { recursive: true });
console.log(
  `Deno ${Deno.version.deno}, Node ${(await run("node", ["--version"])).trim()}, ${
    new Date().toISOString().slice(0, 10)
  }, median of ${rounds}\n`,
);
console.log("| group | bench | result | vs baseline |");
console.log("| --- | --- | --- | --- |");
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
