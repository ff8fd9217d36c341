/**
 * The socket reader's pump: how big a buffer it reads into. A conn that
 * goes quiet after small messages must not hold 64 KiB while it waits; a
 * stream must read in 64 KiB without a new buffer per read.
 */
import assert from "node:assert/strict";
import { SocketInbound } from "../transports/socket_inbound.ts";

/** A native source whose reads the test answers one at a time, recording the buffer each was given. */
function scriptedSource() {
  const calls: { buffer: Uint8Array; answer(n: number | null): void }[] = [];
  const source = {
    read(p: Uint8Array): Promise<number | null> {
      return new Promise((resolve) => calls.push({ buffer: p, answer: resolve }));
    },
  };
  return { source, calls };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("the pump reads into a buffer fit to what the socket delivers: small while quiet, 64 KiB while streaming, one buffer per steady stream", async () => {
  const { source, calls } = scriptedSource();
  const inbound = new SocketInbound(source, 256 * 1024, (e) => e as Error, () => {});
  const sizes: number[] = [];
  const buffers = new Set<ArrayBufferLike>();
  // Readers take chunks as a stream's default reader does: through the pump.
  const answer = async (n: number) => {
    const reading = inbound.readChunk();
    await tick();
    const call = calls.at(-1)!;
    sizes.push(call.buffer.byteLength);
    buffers.add(call.buffer.buffer);
    call.answer(Math.min(n, call.buffer.byteLength));
    assert.equal((await reading)!.byteLength, Math.min(n, call.buffer.byteLength));
  };
  await answer(1); // a one-byte exchange
  for (let i = 0; i < 8; i++) await answer(64 * 1024); // then a stream of full reads
  const streaming = buffers.size;
  for (let i = 0; i < 20; i++) await answer(64 * 1024);
  assert.equal(buffers.size, streaming, "a steady stream reads into the same buffer");
  await answer(100); // a short read mid-stream (the reader caught up) keeps the big buffer
  await answer(64 * 1024);
  assert.equal(buffers.size, streaming, "one short read while streaming changes nothing");
  for (let i = 0; i < 4; i++) await answer(1); // then it goes quiet
  assert.deepEqual(sizes.slice(0, 7), [2048, 2048, 4096, 8192, 16384, 32768, 65536]);
  assert.deepEqual(
    sizes.slice(-4),
    [65536, 65536, 65536, 2048],
    "after three tiny reads, it waits with 2 KiB",
  );
});
