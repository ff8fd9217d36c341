/**
 * pipe() against a bare TransformStream in the same run.
 *
 * - "views": pipe()'s writable → readable against an identity TransformStream.
 * - "read/write": pipe()'s read/write against a TransformStream that copies
 *   each chunk (the naive copying pipe), reading into a buffer of the chunk's
 *   size so that both move the same chunks.
 * - "ping-pong": one byte there and back.
 *
 * Each iteration moves CHUNKS chunks; `deno task bench` prints the ratios
 * against each group's baseline, and `deno run -A bench/summary.ts` turns
 * them into chunks/s, MB/s and ratios.
 */

import { pipe } from "../mod.ts";

export const CHUNKS = 2000;
const SIZES = [64, 1024, 64 * 1024];

async function streamRun(
  writable: WritableStream<Uint8Array>,
  readable: ReadableStream<Uint8Array>,
  chunks: Uint8Array[],
): Promise<void> {
  const writer = writable.getWriter();
  const reader = readable.getReader();
  const writing = (async () => {
    for (const chunk of chunks) await writer.write(chunk);
  })();
  let received = 0;
  const total = chunks.length * chunks[0].length;
  while (received < total) received += (await reader.read()).value!.length;
  await writing;
  writer.releaseLock();
  reader.releaseLock();
}

for (const size of SIZES) {
  const label = size >= 1024 ? `${size / 1024} KiB` : `${size} B`;

  // Stream views take chunks over, so every chunk is fresh: the cost of making
  // them is the same for both sides.
  Deno.bench({
    name: `views ${label}: TransformStream, ${CHUNKS} × ${size} B`,
    group: `views ${label}`,
    baseline: true,
    async fn(b) {
      const chunks = Array.from({ length: CHUNKS }, () => new Uint8Array(size));
      const ts = new TransformStream<Uint8Array, Uint8Array>();
      b.start();
      await streamRun(ts.writable, ts.readable, chunks);
      b.end();
    },
  });
  Deno.bench({
    name: `views ${label}: pipe(), ${CHUNKS} × ${size} B`,
    group: `views ${label}`,
    async fn(b) {
      const chunks = Array.from({ length: CHUNKS }, () => new Uint8Array(size));
      const [x, y] = pipe();
      b.start();
      await streamRun(x.writable, y.readable, chunks);
      b.end();
      x.close();
      y.close();
    },
  });

  Deno.bench({
    name: `read/write ${label}: copying TransformStream, ${CHUNKS} × ${size} B`,
    group: `read/write ${label}`,
    baseline: true,
    async fn() {
      const ts = new TransformStream<Uint8Array, Uint8Array>({
        transform: (chunk, controller) => controller.enqueue(chunk.slice()),
      });
      const chunk = new Uint8Array(size);
      await streamRun(ts.writable, ts.readable, Array(CHUNKS).fill(chunk));
    },
  });
  Deno.bench({
    name: `read/write ${label}: pipe(), ${CHUNKS} × ${size} B`,
    group: `read/write ${label}`,
    async fn() {
      const [x, y] = pipe();
      const chunk = new Uint8Array(size);
      const buf = new Uint8Array(size);
      const writing = (async () => {
        for (let i = 0; i < CHUNKS; i++) await x.write(chunk);
      })();
      for (let received = 0; received < CHUNKS * size;) received += (await y.read(buf))!;
      await writing;
      x.close();
      y.close();
    },
  });
}

const ROUND_TRIPS = 2000;

Deno.bench({
  name: `ping-pong: TransformStream, ${ROUND_TRIPS} round trips × 1 B`,
  group: "ping-pong",
  baseline: true,
  async fn() {
    const there = new TransformStream<Uint8Array, Uint8Array>();
    const back = new TransformStream<Uint8Array, Uint8Array>();
    const [tw, tr, bw, br] = [
      there.writable.getWriter(),
      there.readable.getReader(),
      back.writable.getWriter(),
      back.readable.getReader(),
    ];
    const echo = (async () => {
      for (let i = 0; i < ROUND_TRIPS; i++) await bw.write((await tr.read()).value!);
    })();
    for (let i = 0; i < ROUND_TRIPS; i++) {
      await tw.write(new Uint8Array(1));
      await br.read();
    }
    await echo;
  },
});

Deno.bench({
  name: `ping-pong: pipe() read/write, ${ROUND_TRIPS} round trips × 1 B`,
  group: "ping-pong",
  async fn() {
    const [x, y] = pipe();
    const echo = (async () => {
      const buf = new Uint8Array(1);
      for (let i = 0; i < ROUND_TRIPS; i++) {
        await y.read(buf);
        await y.write(buf);
      }
    })();
    const buf = new Uint8Array(1);
    for (let i = 0; i < ROUND_TRIPS; i++) {
      await x.write(buf);
      await x.read(buf);
    }
    await echo;
    x.close();
    y.close();
  },
});
