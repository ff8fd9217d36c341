/**
 * A worker conn against raw `postMessage` between the same two isolates
 * (this one and `bench/worker_peer.ts`), in the same run:
 *
 * - "worker 64 KiB": one-way throughput in 64 KiB writes. The baseline
 *   posts a copy of the source buffer each time, transferring it (what a
 *   program that keeps its buffer does), with no flow control at all; the
 *   conn `write(p)`s the source (one copy, then a transfer) with its default
 *   window, a fixed 64 KiB one and a 1 MiB one, or writes fresh chunks to
 *   `writable` (transferred as they are). The far side reads into a 64 KiB
 *   buffer and answers once all bytes are in.
 * - "worker 64 B": one-way rate of 64-byte writes against 64-byte posts.
 * - "worker ping-pong": one byte there and back.
 *
 * `deno run -A bench/summary.ts bench/worker_bench.ts` prints the ratios.
 */

import { type Conn, portConn } from "../mod.ts";

const worker = new Worker(new URL("./worker_peer.ts", import.meta.url), { type: "module" });
globalThis.addEventListener("unload", () => worker.terminate());

/** A port to a fresh peer of kind `cmd` in the worker. */
function peerPort(cmd: string, every = 0, bufferSize?: number): MessagePort {
  const { port1, port2 } = new MessageChannel();
  worker.postMessage({ cmd, port: port2, every, bufferSize }, [port2]);
  return port1;
}

/** The next message on `port`. */
function nextMessage(port: MessagePort): Promise<unknown> {
  return new Promise((resolve) => port.onmessage = (m) => resolve(m.data));
}

const KiB64 = 64 * 1024;
const BIG_WRITES = 256; // 16 MiB an iteration
const SMALL_WRITES = 10_000;
const ROUND_TRIPS = 1000;

const source = new Uint8Array(KiB64).map((_, i) => i);

// Each bench keeps its peer for all its iterations, made on first use.
function once<T>(make: () => T): () => T {
  let made: T | undefined;
  return () => made ??= make();
}

const rawSink64K = once(() => peerPort("raw-sink", BIG_WRITES * KiB64));
const rawSink64 = once(() => peerPort("raw-sink", SMALL_WRITES * 64));
const rawEcho = once(() => peerPort("raw-echo"));
const connSink = new Map<string, Conn>();
function sinkConn(every: number, bufferSize?: number): Conn {
  const key = `${every}/${bufferSize}`;
  let conn = connSink.get(key);
  if (!conn) connSink.set(key, conn = portConn(peerPort("conn-sink", every, bufferSize), { bufferSize }));
  return conn;
}
const echoConn = once(() => portConn(peerPort("conn-echo")));
const ack = new Uint8Array(1);

Deno.bench({
  name: `64 KiB: raw postMessage of a transferred copy, ${BIG_WRITES} × ${KiB64} B`,
  group: "worker 64 KiB",
  baseline: true,
  async fn() {
    const port = rawSink64K();
    const done = nextMessage(port);
    for (let i = 0; i < BIG_WRITES; i++) {
      const chunk = source.slice();
      port.postMessage(chunk, [chunk.buffer]);
    }
    await done;
  },
});

const WINDOWS: [string, number | undefined][] = [
  ["default window (64 KiB, growing to 1 MiB)", undefined],
  ["fixed 64 KiB window", 64 * 1024],
  ["1 MiB window", 1024 * 1024],
];
for (const [window, bufferSize] of WINDOWS) {
  Deno.bench({
    name: `64 KiB: worker conn write(p), ${window}, ${BIG_WRITES} × ${KiB64} B`,
    group: "worker 64 KiB",
    async fn() {
      const conn = sinkConn(BIG_WRITES * KiB64, bufferSize);
      for (let i = 0; i < BIG_WRITES; i++) await conn.write(source);
      await conn.read(ack);
    },
  });
}

Deno.bench({
  name: `64 KiB: worker conn writable (chunks transferred), default window, ${BIG_WRITES} × ${KiB64} B`,
  group: "worker 64 KiB",
  async fn() {
    const conn = sinkConn(BIG_WRITES * KiB64);
    const writer = conn.writable.getWriter();
    for (let i = 0; i < BIG_WRITES; i++) await writer.write(source.slice());
    writer.releaseLock();
    await conn.read(ack);
  },
});

// A buffer of its own: posting a view would clone all of the buffer under it.
const small = source.slice(0, 64);

Deno.bench({
  name: `64 B: raw postMessage, ${SMALL_WRITES} × 64 B`,
  group: "worker 64 B",
  baseline: true,
  async fn() {
    const port = rawSink64();
    const done = nextMessage(port);
    for (let i = 0; i < SMALL_WRITES; i++) port.postMessage(small);
    await done;
  },
});

Deno.bench({
  name: `64 B: worker conn write(p), ${SMALL_WRITES} × 64 B`,
  group: "worker 64 B",
  async fn() {
    const conn = sinkConn(SMALL_WRITES * 64);
    for (let i = 0; i < SMALL_WRITES; i++) await conn.write(small);
    await conn.read(ack);
  },
});

Deno.bench({
  name: `ping-pong: raw postMessage, ${ROUND_TRIPS} round trips × 1 B`,
  group: "worker ping-pong",
  baseline: true,
  async fn() {
    const port = rawEcho();
    const one = new Uint8Array(1);
    for (let i = 0; i < ROUND_TRIPS; i++) {
      const back = nextMessage(port);
      port.postMessage(one);
      await back;
    }
  },
});

Deno.bench({
  name: `ping-pong: worker conn read/write, ${ROUND_TRIPS} round trips × 1 B`,
  group: "worker ping-pong",
  async fn() {
    const conn = echoConn();
    const one = new Uint8Array(1);
    for (let i = 0; i < ROUND_TRIPS; i++) {
      await conn.write(one);
      await conn.read(one);
    }
  },
});
