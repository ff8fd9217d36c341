/**
 * The work the mux benches time (bench/mux_bench.ts with `deno bench`,
 * bench/mux_rounds.ts in paired rounds): bulk writes, ping-pong, and stream
 * open + 1 KiB exchange + close for tether's mux and for js-libp2p's yamux.
 */

import { type Conn, pipe } from "../mod.ts";
import { mux, type Session } from "../mux/mod.ts";
import { libp2pYamux } from "./_libp2p_yamux.ts";

const KiB = 1024;
/** The size of each write (and read buffer) of the bulk work. */
export const CHUNK = 64 * KiB;

/**
 * Each conn's own 64 KiB buffer, made once: what is timed is moving the
 * bytes, not allocating (and first touching) 200 buffers per iteration.
 */
const buffers = new Map<Conn, Uint8Array>();
function bufferOf(conn: Conn): Uint8Array {
  let buffer = buffers.get(conn);
  if (buffer === undefined) buffers.set(conn, buffer = new Uint8Array(CHUNK));
  return buffer;
}

/** Writes `writes` chunks on `w` while `r` reads them all. */
export async function stream(w: Conn, r: Conn, writes: number): Promise<void> {
  const chunk = bufferOf(w), buf = bufferOf(r);
  const total = writes * chunk.length;
  const reading = (async () => {
    for (let got = 0; got < total;) got += (await r.read(buf))!;
  })();
  for (let i = 0; i < writes; i++) await w.write(chunk);
  await reading;
}

/** `trips` 1-byte round trips from `a` through an echo on `b`. */
export async function pingPong(a: Conn, b: Conn, trips: number): Promise<void> {
  const there = new Uint8Array(1), back = new Uint8Array(1);
  const echo = (async () => {
    for (let i = 0; i < trips; i++) {
      await b.read(back);
      await b.write(back);
    }
  })();
  for (let i = 0; i < trips; i++) {
    await a.write(there);
    await a.read(there);
  }
  await echo;
}

/** A stream opened on `client`, accepted on `server`, with a byte sent so that both ends hold it. */
export async function streamPair(client: Session, server: Session): Promise<[Conn, Conn]> {
  const x = await client.open();
  await x.write(new Uint8Array(1));
  const y = await server.accept();
  await y.read(new Uint8Array(1));
  return [x, y];
}

/** A client and a server session over `[a, b]`, and one stream between them. */
export async function sessionPair(
  a: Conn,
  b: Conn,
): Promise<{ client: Session; server: Session; x: Conn; y: Conn }> {
  const client = mux(a, { role: "client" }), server = mux(b, { role: "server" });
  const [x, y] = await streamPair(client, server);
  return { client, server, x, y };
}

/**
 * Open + 1 KiB exchange + close, `opens` times, for libp2p's yamux and for
 * tether's mux, each against an echo server on its own memory pipe.
 */
export async function openClose(): Promise<
  { libp2p(opens: number): Promise<void>; tether(opens: number): Promise<void> }
> {
  const message = new Uint8Array(KiB);
  const [lpA, lpB] = pipe();
  const lpClient = libp2pYamux(lpA, "client");
  libp2pYamux(lpB, "server").addEventListener("stream", (evt) => {
    const s = evt.detail;
    s.addEventListener("message", (e) => s.send(e.data));
    s.addEventListener("remoteCloseWrite", () => s.close());
  });
  const echoing = await sessionPair(...pipe());
  (async () => {
    for await (const s of echoing.server) {
      (async () => {
        const buf = new Uint8Array(2 * KiB);
        for (let n; (n = await s.read(buf)) !== null;) await s.write(buf.subarray(0, n));
        s.close();
      })().catch(() => s.close());
    }
  })();
  return {
    async libp2p(opens) {
      for (let i = 0; i < opens; i++) {
        const s = await lpClient.createStream();
        const done = Promise.withResolvers<void>();
        let got = 0;
        s.addEventListener("message", (e) => {
          if ((got += e.data.byteLength) >= KiB) done.resolve();
        });
        s.send(message);
        await done.promise;
        await s.close();
      }
    },
    async tether(opens) {
      const back = new Uint8Array(KiB);
      for (let i = 0; i < opens; i++) {
        const s = await echoing.client.open();
        await s.write(message);
        for (let got = 0; got < KiB;) got += (await s.read(back.subarray(got)))!;
        s.close();
      }
    },
  };
}
