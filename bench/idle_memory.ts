/**
 * Memory held by idle connections: 10,000 `pipe()` pairs against 10,000
 * TransformStream pairs and (fewer, as each takes two file descriptors)
 * raw Deno Unix socket pairs, each measured fresh and again after one byte
 * went each way and was read. Run by `deno task bench`:
 *
 *     deno run -A --v8-flags=--expose-gc bench/idle_memory.ts [pairs]
 *
 * Figures are bytes per pair of heap plus external memory after a forced
 * garbage collection; "used" is after the exchange, less the fresh figure.
 */

import { type Conn, pipe } from "../mod.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with --v8-flags=--expose-gc");

const PAIRS = Number(Deno.args[0] ?? 10_000);
const SOCKET_PAIRS = Math.min(PAIRS, 1_000);

/** Heap plus external bytes after collecting garbage. */
async function settled(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc!();
    await new Promise((r) => setTimeout(r, 0));
  }
  const m = Deno.memoryUsage();
  return m.heapUsed + m.external;
}

interface Row {
  what: string;
  pairs: number;
  fresh: number;
  used: number;
}

/** Makes `n` pairs, measures them fresh, exchanges a byte each way on each, measures again. */
async function measure<P>(
  what: string,
  n: number,
  make: () => Promise<P> | P,
  exchange: (pair: P) => Promise<void>,
  close: (pair: P) => Promise<void> | void,
): Promise<Row> {
  const base = await settled();
  const pairs: P[] = [];
  for (let i = 0; i < n; i++) pairs.push(await make());
  const fresh = await settled();
  for (const pair of pairs) await exchange(pair);
  const used = await settled();
  for (const pair of pairs) await close(pair);
  return { what, pairs: n, fresh: (fresh - base) / n, used: (used - fresh) / n };
}

const one = new Uint8Array([1]);

async function exchangeConns([a, b]: [Conn, Conn]): Promise<void> {
  const buf = new Uint8Array(1);
  await a.write(one);
  await b.read(buf);
  await b.write(one);
  await a.read(buf);
}

const rows: Row[] = [];
rows.push(
  await measure("pipe(), read/write", PAIRS, () => pipe(), exchangeConns, ([a, b]) => (a.close(), b.close())),
);
rows.push(
  await measure("pipe(), stream views", PAIRS, () => pipe(), async ([a, b]) => {
    const aw = a.writable.getWriter(), bw = b.writable.getWriter();
    const ar = a.readable.getReader(), br = b.readable.getReader();
    await aw.write(new Uint8Array([1]));
    await br.read();
    await bw.write(new Uint8Array([1]));
    await ar.read();
    aw.releaseLock(), bw.releaseLock(), ar.releaseLock(), br.releaseLock();
  }, ([a, b]) => (a.close(), b.close())),
);
rows.push(
  await measure(
    "TransformStream pair (one each way)",
    PAIRS,
    () => [new TransformStream<Uint8Array>(), new TransformStream<Uint8Array>()] as const,
    async ([ab, ba]) => {
      const w1 = ab.writable.getWriter(), r1 = ab.readable.getReader();
      const w2 = ba.writable.getWriter(), r2 = ba.readable.getReader();
      // A TransformStream's write waits for its read: both at once.
      await Promise.all([w1.write(new Uint8Array([1])), r1.read()]);
      await Promise.all([w2.write(new Uint8Array([1])), r2.read()]);
      w1.releaseLock(), r1.releaseLock(), w2.releaseLock(), r2.releaseLock();
    },
    () => {},
  ),
);
const dir = await Deno.makeTempDir();
const path = `${dir}/idle.sock`;
const listener = Deno.listen({ transport: "unix", path });
rows.push(
  await measure(
    "raw Deno Unix socket pair",
    SOCKET_PAIRS,
    async () => {
      const accepting = listener.accept();
      const client = await Deno.connect({ transport: "unix", path });
      return [client, await accepting] as const;
    },
    async ([a, b]) => {
      const buf = new Uint8Array(1);
      await a.write(one);
      await b.read(buf);
      await b.write(one);
      await a.read(buf);
    },
    ([a, b]) => (a.close(), b.close()),
  ),
);
listener.close();
await Deno.remove(dir, { recursive: true });

const kib = (bytes: number) => `${(bytes / 1024).toFixed(2)} KiB`;
console.log(
  `Deno ${Deno.version.deno}, ${new Date().toISOString().slice(0, 10)}: heap + external per pair\n`,
);
console.log("| pairs | what | fresh | more once used, idle |");
console.log("| --- | --- | --- | --- |");
for (const row of rows) console.log(`| ${row.pairs} | ${row.what} | ${kib(row.fresh)} | ${kib(row.used)} |`);
