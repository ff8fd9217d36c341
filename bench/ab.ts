/**
 * Before and after in one process: imports this checkout's `mod.ts` and
 * another checkout's (say, a `git worktree` of the commit before a change),
 * and times the same work on both in alternating order, round after round.
 * A ratio is the median over rounds of the two times in the same round, so
 * a noisy machine spoils a pair, not a series; this is how a change is shown
 * not to make the core slower (issue 7: "the benches must not get slower").
 *
 *     git worktree add /tmp/before <commit>
 *     deno run -A bench/ab.ts /tmp/before [rounds] [case,case...] [--cpu]
 *
 * Prints one line per case: the median time of each side, and the new
 * code's speed as a multiple of the old's with the middle half of the
 * rounds' ratios. Only the API both sides have is used: `pipe`, `listen`,
 * `connect`, `frames`, `secure`, `mux`, `read`/`write` and the stream views.
 * With `--cpu`, a round's time is the CPU time the process spent in it (user
 * and system, all threads) rather than the wall clock's: on a shared machine
 * whose other loads take the cores away now and then, the spread of the
 * ratios is a half or a third of the wall clock's, for work that keeps this
 * process busy (everything here does: both ends run in it).
 */

// deno-lint-ignore-file no-explicit-any
import process from "node:process";
type Mod = any;

const cpu = Deno.args.includes("--cpu");
const [beforeDir, roundsArg, only] = Deno.args.filter((arg) => arg !== "--cpu");
if (!beforeDir) {
  throw new TypeError("usage: deno run -A bench/ab.ts <checkout to compare with> [rounds] [cases]");
}
const beforeRoot = `file://${await Deno.realPath(beforeDir)}`;
const before: Mod = {
  ...await import(`${beforeRoot}/mod.ts`),
  ...await import(`${beforeRoot}/crypto/mod.ts`),
  // A checkout from before the mux existed compares everything else.
  ...await import(`${beforeRoot}/mux/mod.ts`).catch(() => ({})),
};
const after: Mod = {
  ...await import("../mod.ts"),
  ...await import("../crypto/mod.ts"),
  ...await import("../mux/mod.ts"),
};
const rounds = Number(roundsArg ?? 40);

const dir = await Deno.makeTempDir({ prefix: "tether-ab-" });
const listeners = new Map<Mod, Mod>([
  [before, await before.listen({ transport: "unix", path: `${dir}/before.sock` })],
  [after, await after.listen({ transport: "unix", path: `${dir}/after.sock` })],
]);

async function unixPair(m: Mod): Promise<[Mod, Mod]> {
  const listener = listeners.get(m);
  const dialing = m.connect({ transport: "unix", path: listener.addr.address });
  const accepted = await listener.accept();
  return [await dialing, accepted];
}

function closing(x: Mod, y: Mod): void {
  x.close();
  y.close();
}

async function readWrite([x, y]: [Mod, Mod], size: number, count: number): Promise<void> {
  const chunk = new Uint8Array(size), buf = new Uint8Array(size);
  const writing = (async () => {
    for (let i = 0; i < count; i++) await x.write(chunk);
  })();
  for (let got = 0; got < count * size;) got += (await y.read(buf))!;
  await writing;
  closing(x, y);
}

async function views([x, y]: [Mod, Mod], size: number, count: number): Promise<void> {
  const writer = x.writable.getWriter(), reader = y.readable.getReader();
  const writing = (async () => {
    for (let i = 0; i < count; i++) await writer.write(new Uint8Array(size));
  })();
  for (let got = 0; got < count * size;) got += (await reader.read()).value!.length;
  await writing;
  closing(x, y);
}

async function framed(m: Mod, [x, y]: [Mod, Mod], size: number): Promise<void> {
  const sender = m.frames(x), receiver = m.frames(y);
  const count = (1 << 20) / size, message = new Uint8Array(size);
  const sending = (async () => {
    for (let i = 0; i < count; i++) await sender.send(message);
  })();
  for (let i = 0; i < count; i++) await receiver.receive();
  await sending;
  closing(x, y);
}

async function securePair(m: Mod, cipher: string, overUnix: boolean): Promise<[Mod, Mod]> {
  const [x, y] = overUnix ? await unixPair(m) : m.pipe();
  return await Promise.all([
    m.secure(x, { role: "initiator", cipher }),
    m.secure(y, { role: "responder", cipher }),
  ]);
}

async function secured(m: Mod, cipher: string, size: number, count: number, overUnix = false): Promise<void> {
  await readWrite(await securePair(m, cipher, overUnix), size, count);
}

async function pingPong([x, y]: [Mod, Mod], trips: number): Promise<void> {
  const echo = (async () => {
    const b = new Uint8Array(1);
    for (let i = 0; i < trips; i++) {
      await y.read(b);
      await y.write(b);
    }
  })();
  const b = new Uint8Array(1);
  for (let i = 0; i < trips; i++) {
    await x.write(b);
    await x.read(b);
  }
  await echo;
  closing(x, y);
}

/** Two mux sessions over `[a, b]`, and `streams` streams between them, each with a byte through it. */
async function muxed(m: Mod, [a, b]: [Mod, Mod], streams = 1): Promise<[Mod, Mod][]> {
  const client = m.mux(a, { role: "client" }), server = m.mux(b, { role: "server" });
  const pairs: [Mod, Mod][] = [];
  for (let i = 0; i < streams; i++) {
    const x = await client.open();
    await x.write(new Uint8Array(1));
    const y = await server.accept();
    await y.read(new Uint8Array(1));
    pairs.push([x, y]);
  }
  return pairs;
}

async function muxStreams(m: Mod, conns: [Mod, Mod], streams: number, count: number): Promise<void> {
  const pairs = await muxed(m, conns, streams);
  await Promise.all(pairs.map((pair) => readWrite(pair, 65536, count)));
  closing(...conns);
}

const cases: Record<string, (m: Mod) => Promise<void>> = {
  "pipe read/write 64 B": (m) => readWrite(m.pipe(), 64, 2000),
  "pipe read/write 1 KiB": (m) => readWrite(m.pipe(), 1024, 2000),
  "pipe read/write 64 KiB": (m) => readWrite(m.pipe(), 65536, 2000),
  "pipe views 64 B": (m) => views(m.pipe(), 64, 2000),
  "pipe views 1 KiB": (m) => views(m.pipe(), 1024, 2000),
  "pipe views 64 KiB": (m) => views(m.pipe(), 65536, 2000),
  "pipe ping-pong": (m) => pingPong(m.pipe(), 2000),
  "pipe frames 64 B": (m) => framed(m, m.pipe(), 64),
  "pipe frames 1 KiB": (m) => framed(m, m.pipe(), 1024),
  "pipe frames 64 KiB": (m) => framed(m, m.pipe(), 65536),
  "secure AESGCM 64 B": (m) => secured(m, "AESGCM", 64, 2048),
  "secure ChaChaPoly ping-pong": async (m) => pingPong(await securePair(m, "ChaChaPoly", false), 500),
  "secure unix ChaChaPoly ping-pong": async (m) => pingPong(await securePair(m, "ChaChaPoly", true), 200),
  "secure ChaChaPoly 64 B": (m) => secured(m, "ChaChaPoly", 64, 2048),
  "secure AESGCM 1 KiB": (m) => secured(m, "AESGCM", 1024, 2048),
  "secure ChaChaPoly 1 KiB": (m) => secured(m, "ChaChaPoly", 1024, 2048),
  "secure AESGCM 64 KiB": (m) => secured(m, "AESGCM", 65536, 256),
  "secure ChaChaPoly 64 KiB": (m) => secured(m, "ChaChaPoly", 65536, 256),
  "secure unix AESGCM 64 B": (m) => secured(m, "AESGCM", 64, 2048, true),
  "secure unix ChaChaPoly 64 B": (m) => secured(m, "ChaChaPoly", 64, 2048, true),
  "secure unix AESGCM 64 KiB": (m) => secured(m, "AESGCM", 65536, 256, true),
  "unix read/write 64 KiB": async (m) => readWrite(await unixPair(m), 65536, 512),
  "unix views 64 KiB": async (m) => views(await unixPair(m), 65536, 512),
  "unix ping-pong": async (m) => pingPong(await unixPair(m), 200),
  "unix frames 64 B": async (m) => framed(m, await unixPair(m), 64),
  "unix frames 64 KiB": async (m) => framed(m, await unixPair(m), 65536),
  "mux pipe 64 KiB": (m) => muxStreams(m, m.pipe(), 1, 2000),
  "mux pipe ping-pong": async (m) => {
    const conns: [Mod, Mod] = m.pipe();
    await pingPong((await muxed(m, conns))[0], 2000);
    closing(...conns);
  },
  "mux pipe 100 streams": (m) => muxStreams(m, m.pipe(), 100, 20),
  "mux unix 64 KiB": async (m) => muxStreams(m, await unixPair(m), 1, 512),
  "mux unix ping-pong": async (m) => {
    const conns: [Mod, Mod] = await unixPair(m);
    await pingPong((await muxed(m, conns))[0], 200);
    closing(...conns);
  },
};

/** Now, in ms: the wall clock's, or with `--cpu` the CPU time this process has used. */
function clock(): number {
  if (!cpu) return performance.now();
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

function sorted(xs: number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}
const at = (xs: number[], q: number) => sorted(xs)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

console.log(
  `Deno ${Deno.version.deno}, ${new Date().toISOString().slice(0, 10)}, ${rounds} rounds, ${
    cpu ? "CPU time" : "wall clock"
  }, before: ${beforeDir}\n`,
);
for (const [name, work] of Object.entries(cases)) {
  if (only && !only.split(",").includes(name)) continue;
  if (name.startsWith("mux ") && before.mux === undefined) {
    console.log(`${name.padEnd(24)} skipped: ${beforeDir} has no mux`);
    continue;
  }
  for (let i = 0; i < 3; i++) await work(before), await work(after); // warm up
  const old: number[] = [], now: number[] = [], ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const order: [Mod, number[]][] = r % 2 === 0
      ? [[before, old], [after, now]]
      : [[after, now], [before, old]];
    for (const [m, times] of order) {
      const t0 = clock();
      await work(m);
      times.push(clock() - t0);
    }
    ratios.push(old[r] / now[r]);
  }
  console.log(
    `${name.padEnd(24)} before ${at(old, 0.5).toFixed(2)} ms, after ${at(now, 0.5).toFixed(2)} ms: ` +
      `${at(ratios, 0.5).toFixed(2)}× the speed (middle half ${at(ratios, 0.25).toFixed(2)}–${
        at(ratios, 0.75).toFixed(2)
      }×)`,
  );
}
for (const listener of listeners.values()) listener.close();
await Deno.remove(dir, { recursive: true });
