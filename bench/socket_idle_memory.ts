/**
 * What an idle conn holds: memory per conn of raw Deno Unix conns, tether
 * Unix conns and tether `secure()` conns over them, each connected to a
 * server in another process (`bench/_socket_peer.ts`), one byte exchanged
 * each way, then waiting to read. Each variant runs in a fresh process of
 * its own, measured after a forced GC before and after the conns.
 *
 *     deno run -A bench/socket_idle_memory.ts [conns]
 *
 * Figures per conn: V8 heap used plus external memory (ArrayBuffers), and
 * resident set size (which also counts Deno's native side of the socket).
 * The readers wait on one small buffer shared by all conns, so the figures
 * are what the conns themselves hold.
 */

import { type Conn, connect } from "../mod.ts";
import { secure } from "../crypto/mod.ts";

/** How a variant opens a conn, and waits on it once the byte is exchanged. */
interface Variant {
  name: string;
  server: "echo" | "secure-echo";
  open(path: string): Promise<Pick<Conn, "read" | "write" | "close">>;
  wait(conn: Pick<Conn, "read" | "write" | "close">, buffer: Uint8Array): void;
}

const waitRead = (conn: Pick<Conn, "read">, buffer: Uint8Array) => void conn.read(buffer).catch(() => {});

const VARIANTS: Variant[] = [
  {
    name: "raw Deno.UnixConn, waiting in read()",
    server: "echo",
    open: (path) => Deno.connect({ transport: "unix", path }),
    wait: waitRead,
  },
  {
    name: "tether unix, waiting in read()",
    server: "echo",
    open: (path) => connect({ transport: "unix", path }),
    wait: waitRead,
  },
  {
    name: "tether unix, waiting in read() with a signal",
    server: "echo",
    open: (path) => connect({ transport: "unix", path }),
    wait: (conn, buffer) => void conn.read(buffer, { signal: new AbortController().signal }).catch(() => {}),
  },
  {
    name: "raw Deno.UnixConn, waiting in readable",
    server: "echo",
    open: (path) => Deno.connect({ transport: "unix", path }),
    wait: (conn) => void (conn as Deno.Conn).readable.getReader().read().catch(() => {}),
  },
  {
    name: "tether unix, waiting in readable",
    server: "echo",
    open: (path) => connect({ transport: "unix", path }),
    wait: (conn) => void (conn as Conn).readable.getReader().read().catch(() => {}),
  },
  {
    name: "tether secure() (NN, AES-GCM) over unix, waiting in read()",
    server: "secure-echo",
    open: async (path) => await secure(await connect({ transport: "unix", path }), { role: "initiator" }),
    wait: waitRead,
  },
];

interface Figures {
  heapAndExternal: number;
  rss: number;
}

/** Collects garbage until the heap stops shrinking. */
async function settle(): Promise<Deno.MemoryUsage> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("run with --v8-flags=--expose-gc");
  let last = Infinity;
  for (let i = 0; i < 10; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
    const used = Deno.memoryUsage().heapUsed;
    if (used >= last) break;
    last = used;
  }
  return Deno.memoryUsage();
}

/** In a child process: opens `count` idle conns of one variant; prints the figures per conn. */
async function measure(variant: Variant, path: string, count: number): Promise<Figures> {
  const shared = new Uint8Array(16);
  const exchange = async () => {
    const conn = await variant.open(path);
    await conn.write(Uint8Array.of(1));
    if (await conn.read(shared) !== 1) throw new Error("the echo did not come back");
    return conn;
  };
  for (let i = 0; i < 20; i++) (await exchange()).close(); // warm up the code paths
  const before = await settle();
  const conns = [];
  for (let i = 0; i < count; i++) {
    const conn = await exchange();
    variant.wait(conn, shared);
    conns.push(conn);
  }
  const after = await settle();
  const figures = {
    heapAndExternal: (after.heapUsed + after.external - before.heapUsed - before.external) / count,
    rss: (after.rss - before.rss) / count,
  };
  for (const conn of conns) conn.close();
  return figures;
}

async function startPeer(dir: string, mode: string): Promise<{ path: string; stop(): Promise<void> }> {
  const path = `${dir}/${mode}.sock`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./_socket_peer.ts", import.meta.url).pathname, path, mode],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  await reader.read(); // its TCP port: it listens
  reader.releaseLock();
  return {
    path,
    async stop() {
      child.kill();
      await child.status;
      await child.stdout.cancel();
    },
  };
}

if (Deno.args[0] === "--variant") {
  // A child: one variant, alone in its process.
  const [, index, path, count] = Deno.args;
  console.log(JSON.stringify(await measure(VARIANTS[Number(index)], path, Number(count))));
  Deno.exit(0);
}

const count = Number(Deno.args[0] ?? 2000);
const dir = await Deno.makeTempDir();
const peers = new Map<string, Awaited<ReturnType<typeof startPeer>>>();
try {
  console.log(`${count} idle conns per variant, one byte exchanged each way, ${Deno.version.deno}\n`);
  console.log("| variant | heap + external per conn | RSS per conn |");
  console.log("| --- | --- | --- |");
  for (const [index, variant] of VARIANTS.entries()) {
    if (!peers.has(variant.server)) peers.set(variant.server, await startPeer(dir, variant.server));
    const { stdout, success } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--v8-flags=--expose-gc",
        new URL(import.meta.url).pathname,
        "--variant",
        String(index),
        peers.get(variant.server)!.path,
        String(count),
      ],
      stderr: "inherit",
    }).output();
    if (!success) throw new Error(`${variant.name}: the measuring process failed`);
    const figures: Figures = JSON.parse(new TextDecoder().decode(stdout));
    const kib = (bytes: number) => `${(bytes / 1024).toFixed(2)} KiB`;
    console.log(`| ${variant.name} | ${kib(figures.heapAndExternal)} | ${kib(figures.rss)} |`);
  }
} finally {
  for (const peer of peers.values()) await peer.stop();
  await Deno.remove(dir, { recursive: true });
}
