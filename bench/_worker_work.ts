/**
 * The work the worker benches time, shared by `worker_bench.ts` (through
 * `deno bench`) and `worker_rounds.ts` (paired rounds): a worker running
 * `worker_peer.ts`, the peers it serves, and each case as a function.
 */

import { type Conn, portConn } from "../mod.ts";

const worker = new Worker(new URL("./worker_peer.ts", import.meta.url), { type: "module" });

/** Ends the worker (at the end of a run). */
export function stopWorker(): void {
  worker.terminate();
}

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

/** 64 KiB. */
export const KiB64 = 64 * 1024;
/** Writes of 64 KiB per run: 16 MiB. */
export const BIG_WRITES = 256;
/** Writes of 64 B per run. */
export const SMALL_WRITES = 10_000;
/** Round trips per run. */
export const ROUND_TRIPS = 1000;

const source = new Uint8Array(KiB64).map((_, i) => i);
// A buffer of its own: posting a view would clone all of the buffer under it.
const small = source.slice(0, 64);
const ack = new Uint8Array(1);

// Each case keeps its peer for all its runs, made on first use.
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

/** 64 KiB posts of a transferred copy of the source, with no flow control at all (the baseline). */
export async function rawBig(): Promise<void> {
  const port = rawSink64K();
  const done = nextMessage(port);
  for (let i = 0; i < BIG_WRITES; i++) {
    const chunk = source.slice();
    port.postMessage(chunk, [chunk.buffer]);
  }
  await done;
}

/** 64 KiB `write(p)`s of the source on a conn with window `bufferSize` (default when left out). */
export async function connBig(bufferSize?: number): Promise<void> {
  const conn = sinkConn(BIG_WRITES * KiB64, bufferSize);
  for (let i = 0; i < BIG_WRITES; i++) await conn.write(source);
  await conn.read(ack);
}

/** Fresh 64 KiB chunks written to a conn's `writable` (transferred as they are). */
export async function connBigWritable(): Promise<void> {
  const conn = sinkConn(BIG_WRITES * KiB64);
  const writer = conn.writable.getWriter();
  for (let i = 0; i < BIG_WRITES; i++) await writer.write(source.slice());
  writer.releaseLock();
  await conn.read(ack);
}

/** 64-byte posts (the baseline). */
export async function rawSmall(): Promise<void> {
  const port = rawSink64();
  const done = nextMessage(port);
  for (let i = 0; i < SMALL_WRITES; i++) port.postMessage(small);
  await done;
}

/** 64-byte `write(p)`s on a conn. */
export async function connSmall(): Promise<void> {
  const conn = sinkConn(SMALL_WRITES * 64);
  for (let i = 0; i < SMALL_WRITES; i++) await conn.write(small);
  await conn.read(ack);
}

/** One byte there and back by raw posts (the baseline). */
export async function rawPingPong(): Promise<void> {
  const port = rawEcho();
  const one = new Uint8Array(1);
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const back = nextMessage(port);
    port.postMessage(one);
    await back;
  }
}

/** One byte there and back over a conn. */
export async function connPingPong(): Promise<void> {
  const conn = echoConn();
  const one = new Uint8Array(1);
  for (let i = 0; i < ROUND_TRIPS; i++) {
    await conn.write(one);
    await conn.read(one);
  }
}
