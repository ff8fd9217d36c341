/**
 * Unix and TCP sockets through tether's Conn against raw Deno conns, in the
 * same run: throughput at 64 KiB writes, and 1-byte ping-pong latency,
 * through read/write and through the stream views.
 *
 * Targets: ≥ 0.9× raw throughput, ≤ 1.2× raw latency.
 */

import type { Conn } from "../mod.ts";
import { SocketConn } from "../transports/socket_conn.ts";

const CHUNK = 64 * 1024;
const TOTAL = 256 * 1024 * 1024;
const ROUND_TRIPS = 200;

type Kind = "unix" | "tcp";

/** The read/write surface both raw Deno conns and tether conns have. */
interface ReadWrite {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  close(): void;
}

interface Setup<C> {
  pair: [C, C];
  done(): Promise<void>;
}

async function rawPair(kind: Kind): Promise<Setup<Deno.Conn>> {
  const dir = kind === "unix" ? await Deno.makeTempDir() : "";
  const listener = kind === "unix"
    ? Deno.listen({ transport: "unix", path: `${dir}/bench.sock` })
    : Deno.listen({ transport: "tcp", hostname: "127.0.0.1", port: 0 });
  const dialing = kind === "unix"
    ? Deno.connect({ transport: "unix", path: `${dir}/bench.sock` })
    : Deno.connect({ transport: "tcp", hostname: "127.0.0.1", port: (listener.addr as Deno.NetAddr).port });
  const server = await listener.accept();
  const client = await dialing;
  listener.close();
  return {
    pair: [client, server],
    async done() {
      for (const conn of [client, server]) {
        try {
          conn.close();
        } catch {
          // Closed by the tether conn wrapping it.
        }
      }
      if (dir) await Deno.remove(dir, { recursive: true });
    },
  };
}

/** The same kind of socket pair, each end wrapped as a tether conn. */
async function tetherPair(kind: Kind): Promise<Setup<Conn>> {
  const raw = await rawPair(kind);
  const wrap = (native: Deno.Conn) => {
    const addr = { transport: kind, address: "bench" } as const;
    return new SocketConn(native, { localAddr: addr, remoteAddr: addr, bufferSize: 64 * 1024 });
  };
  const pair: [Conn, Conn] = [wrap(raw.pair[0]), wrap(raw.pair[1])];
  return {
    pair,
    async done() {
      pair[0].close();
      pair[1].close();
      await raw.done();
    },
  };
}

/** Raw Deno writes may be partial; tether's write is all-or-error, so match it. */
async function writeAll(conn: ReadWrite, p: Uint8Array): Promise<void> {
  for (let n = 0; n < p.byteLength;) n += await conn.write(n === 0 ? p : p.subarray(n));
}

async function pumpReadWrite([from, to]: [ReadWrite, ReadWrite]): Promise<void> {
  const out = new Uint8Array(CHUNK).fill(7);
  const writing = (async () => {
    for (let sent = 0; sent < TOTAL; sent += CHUNK) await writeAll(from, out);
  })();
  const buf = new Uint8Array(CHUNK);
  for (let got = 0; got < TOTAL;) got += (await to.read(buf))!;
  await writing;
}

/**
 * Through the stream views: a BYOB reader reading into one buffer, and a
 * writer reusing one chunk, which a socket conn's writable allows (it is done
 * with a chunk once its write resolves).
 */
async function pumpStreams([from, to]: [Conn, Conn]): Promise<void> {
  const writer = from.writable.getWriter();
  const out = new Uint8Array(CHUNK).fill(7);
  const writing = (async () => {
    for (let sent = 0; sent < TOTAL; sent += CHUNK) await writer.write(out);
    writer.releaseLock();
  })();
  const reader = to.readable.getReader({ mode: "byob" });
  let buf = new Uint8Array(CHUNK);
  for (let got = 0; got < TOTAL;) {
    const { value } = await reader.read(buf);
    got += value!.byteLength;
    buf = new Uint8Array(value!.buffer);
  }
  reader.releaseLock();
  await writing;
}

/** Raw reads into a fresh buffer each time: what a chunk-per-read consumer pays. */
async function pumpFreshChunks([from, to]: [ReadWrite, ReadWrite]): Promise<void> {
  const out = new Uint8Array(CHUNK).fill(7);
  const writing = (async () => {
    for (let sent = 0; sent < TOTAL; sent += CHUNK) await writeAll(from, out);
  })();
  for (let got = 0; got < TOTAL;) got += (await to.read(new Uint8Array(CHUNK)))!;
  await writing;
}

/** The readable's default reader: a new chunk per read. */
async function pumpDefaultReader([from, to]: [Conn, Conn]): Promise<void> {
  const out = new Uint8Array(CHUNK).fill(7);
  const writing = (async () => {
    for (let sent = 0; sent < TOTAL; sent += CHUNK) await from.write(out);
  })();
  const reader = to.readable.getReader();
  for (let got = 0; got < TOTAL;) got += (await reader.read()).value!.byteLength;
  reader.releaseLock();
  await writing;
}

function pingPongReadWrite([client, server]: [ReadWrite, ReadWrite]): () => Promise<void> {
  const echo = (async () => {
    const b = new Uint8Array(1);
    for (let i = 0; i < ROUND_TRIPS; i++) {
      await server.read(b);
      await writeAll(server, b);
    }
  })();
  const b = new Uint8Array([1]);
  return async () => {
    for (let i = 0; i < ROUND_TRIPS; i++) {
      await writeAll(client, b);
      await client.read(b);
    }
    await echo;
  };
}

function pingPongStreams([client, server]: [Conn, Conn]): () => Promise<void> {
  const echo = (async () => {
    const reader = server.readable.getReader({ mode: "byob" });
    const writer = server.writable.getWriter();
    let b = new Uint8Array(1);
    for (let i = 0; i < ROUND_TRIPS; i++) {
      const { value } = await reader.read(b);
      await writer.write(value!);
      b = new Uint8Array(value!.buffer);
    }
    reader.releaseLock();
    writer.releaseLock();
  })();
  const reader = client.readable.getReader({ mode: "byob" });
  const writer = client.writable.getWriter();
  return async () => {
    let b = new Uint8Array([1]);
    for (let i = 0; i < ROUND_TRIPS; i++) {
      await writer.write(b);
      b = new Uint8Array((await reader.read(b)).value!.buffer);
    }
    reader.releaseLock();
    writer.releaseLock();
    await echo;
  };
}

for (const kind of ["unix", "tcp"] as const) {
  const raw = kind === "unix" ? "raw Deno.UnixConn" : "raw Deno.TcpConn";
  const throughput = `${kind} throughput, 64 KiB writes, 256 MiB per iteration`;
  const bench = { n: 10, warmup: 2 };
  Deno.bench(
    `${kind}: ${raw} read/write, 4096 × 65536 B`,
    { group: throughput, baseline: true, ...bench },
    async (b) => {
      const setup = await rawPair(kind);
      b.start();
      await pumpReadWrite(setup.pair);
      b.end();
      await setup.done();
    },
  );
  Deno.bench(`${kind}: tether read/write, 4096 × 65536 B`, { group: throughput, ...bench }, async (b) => {
    const setup = await tetherPair(kind);
    b.start();
    await pumpReadWrite(setup.pair);
    b.end();
    await setup.done();
  });
  Deno.bench(
    `${kind}: tether readable (BYOB)/writable, 4096 × 65536 B`,
    { group: throughput, ...bench },
    async (b) => {
      const setup = await tetherPair(kind);
      b.start();
      await pumpStreams(setup.pair);
      b.end();
      await setup.done();
    },
  );

  const chunks = `${kind} throughput, a new 64 KiB chunk per read, 256 MiB per iteration`;
  Deno.bench(`${kind}: ${raw} read into a new buffer each time, 4096 × 65536 B`, {
    group: chunks,
    baseline: true,
    ...bench,
  }, async (b) => {
    const setup = await rawPair(kind);
    b.start();
    await pumpFreshChunks(setup.pair);
    b.end();
    await setup.done();
  });
  Deno.bench(
    `${kind}: tether readable default reader, 4096 × 65536 B`,
    { group: chunks, ...bench },
    async (b) => {
      const setup = await tetherPair(kind);
      b.start();
      await pumpDefaultReader(setup.pair);
      b.end();
      await setup.done();
    },
  );

  const latency = `${kind} latency, ${ROUND_TRIPS} 1-byte round trips per iteration`;
  Deno.bench(
    `${kind}: ${raw} read/write ping-pong, 200 round trips`,
    { group: latency, baseline: true },
    async (b) => {
      const setup = await rawPair(kind);
      const run = pingPongReadWrite(setup.pair);
      b.start();
      await run();
      b.end();
      await setup.done();
    },
  );
  Deno.bench(`${kind}: tether read/write ping-pong, 200 round trips`, { group: latency }, async (b) => {
    const setup = await tetherPair(kind);
    const run = pingPongReadWrite(setup.pair);
    b.start();
    await run();
    b.end();
    await setup.done();
  });
  Deno.bench(
    `${kind}: tether readable (BYOB)/writable ping-pong, 200 round trips`,
    { group: latency },
    async (b) => {
      const setup = await tetherPair(kind);
      const run = pingPongStreams(setup.pair);
      b.start();
      await run();
      b.end();
      await setup.done();
    },
  );
}
