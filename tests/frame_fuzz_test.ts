/**
 * Fuzzes the frame decoder: random and mutated byte streams are written raw
 * into a pipe and decoded by `frames()` / `typedFrames()`. Each run must end
 * exactly as a plain reference parser of the same bytes says (the same
 * messages, then a clean EOF or the same typed error), with no hang and no
 * buffer read into beyond `max(64 KiB, maxMessageSize)`.
 *
 * TETHER_FUZZ_ITERATIONS sets the count (CI default below; run 100000 for the
 * full pass), TETHER_FUZZ_SEED the seed: a failure prints both to replay it.
 */

import assert from "node:assert/strict";
import { type Conn, frames, MessageTooLargeError, pipe, ProtocolError, typedFrames } from "../mod.ts";
import { recordingReads } from "./frame_helpers.ts";
import { envNumber, mutateBytes, Random } from "./fuzz_helpers.ts";

const ITERATIONS = envNumber("TETHER_FUZZ_ITERATIONS", 3000);
const SEED = envNumber("TETHER_FUZZ_SEED", 0x7e7e_7e7e);
const MAX_SIZES = [0, 1, 16, 1000, 70_000];
const HANG_MS = 10_000;

interface Case {
  typed: boolean;
  max: number;
  input: Uint8Array;
  /** Where frames start in `input` before mutation. */
  boundaries: number[];
}

type Outcome = { messages: { type: number; data: Uint8Array }[]; end: "eof" | "protocol" | "too-large" };

/** What the input must decode to: a direct reading of the wire format. */
function reference(input: Uint8Array, typed: boolean, max: number): Outcome {
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const header = typed ? 8 : 4;
  const messages: Outcome["messages"] = [];
  let at = 0;
  for (;;) {
    if (at === input.length) return { messages, end: "eof" };
    if (input.length - at < header) return { messages, end: "protocol" };
    const length = view.getUint32(at);
    if (length > max) return { messages, end: "too-large" };
    const type = typed ? view.getUint32(at + 4) : 0;
    if (typed && type === 0) return { messages, end: "protocol" };
    if (input.length - at - header < length) return { messages, end: "protocol" };
    messages.push({ type, data: input.slice(at + header, at + header + length) });
    at += header + length;
  }
}

function encode(random: Random, typed: boolean, max: number): { input: Uint8Array; boundaries: number[] } {
  const header = typed ? 8 : 4;
  const lengths: number[] = [];
  for (let i = random.below(6); i > 0; i--) {
    // Mostly small frames; now and then one up to the maximum (capped at
    // 70 KB so it stays quick: length fields at max and max+1 come from
    // mutation).
    const cap = Math.min(max, random.below(10) === 0 ? 70_000 : 300);
    lengths.push(random.below(cap + 1));
  }
  const input = new Uint8Array(lengths.reduce((sum, n) => sum + header + n, 0));
  const view = new DataView(input.buffer);
  const boundaries: number[] = [];
  let at = 0;
  for (const length of lengths) {
    boundaries.push(at);
    view.setUint32(at, length);
    if (typed) view.setUint32(at + 4, 1 + random.below(0xffff_ffff));
    input.set(random.bytes(length), at + header);
    at += header + length;
  }
  return { input, boundaries };
}

function mutate(random: Random, c: Case): Uint8Array {
  let input = c.input;
  for (let rounds = 1 + random.below(3); rounds > 0; rounds--) {
    const kind = random.below(6);
    if (kind === 0 && c.boundaries.length > 0) { // a length field set to an edge value
      const at = random.pick(c.boundaries);
      if (at + 4 > input.length) continue;
      input = input.slice();
      new DataView(input.buffer).setUint32(at, random.pick([0, c.max, c.max + 1, 0xffff_ffff]) >>> 0);
    } else if (kind === 1 && c.typed && c.boundaries.length > 0) { // a type field set to 0 or the top
      const at = random.pick(c.boundaries) + 4;
      if (at + 4 > input.length) continue;
      input = input.slice();
      new DataView(input.buffer).setUint32(at, random.pick([0, 1, 0xffff_ffff]));
    } else {
      input = mutateBytes(random, input, { maxSplice: 8 });
    }
  }
  return input;
}

function makeCase(random: Random): Case {
  const typed = random.below(2) === 0;
  const max = random.below(50) === 0 ? 3 * 1024 * 1024 : random.pick(MAX_SIZES);
  const style = random.below(4);
  if (style === 0) return { typed, max, input: random.bytes(random.below(64)), boundaries: [] };
  const c: Case = { typed, max, ...encode(random, typed, max) };
  if (style === 1) return c; // left valid
  return { ...c, input: mutate(random, c) };
}

/** Writes `input` raw in random chunks, then half-closes or closes. */
async function writeRaw(conn: Conn, input: Uint8Array, random: Random): Promise<void> {
  // Byte-at-a-time writes only for small inputs, to keep the run quick.
  const chunkCap = random.pick(input.length < 2048 ? [1, 7, 64, 4096] : [1000, 4096, 1 << 20]);
  const close = random.below(4) === 0;
  try {
    for (let at = 0; at < input.length;) {
      const n = 1 + random.below(chunkCap);
      await conn.write(input.subarray(at, at + n));
      at += n;
    }
    if (close) conn.close();
    else await conn.closeWrite();
  } catch (err) {
    // The decoder may close on bad input before all of it was written.
    if (!(err instanceof Error && err.name === "ConnClosedError")) throw err;
  }
}

async function decodeRaw(
  conn: Conn,
  c: Case,
  signal: AbortSignal,
): Promise<{ outcome: Outcome; framed: { closed: Promise<void>; close(): void } }> {
  const framed = c.typed
    ? typedFrames(conn, { maxMessageSize: c.max })
    : frames(conn, { maxMessageSize: c.max });
  const messages: Outcome["messages"] = [];
  try {
    for (let m; (m = await framed.receive({ signal })) !== null;) {
      messages.push(m instanceof Uint8Array ? { type: 0, data: m } : m);
    }
    return { outcome: { messages, end: "eof" }, framed };
  } catch (err) {
    if (err instanceof MessageTooLargeError) return { outcome: { messages, end: "too-large" }, framed };
    if (err instanceof ProtocolError) return { outcome: { messages, end: "protocol" }, framed };
    throw err;
  }
}

Deno.test(`frame decoder fuzz: ${ITERATIONS} random and mutated inputs end as the reference parser says`, async () => {
  const random = new Random(SEED);
  const counts = { eof: 0, protocol: 0, "too-large": 0 };
  for (let i = 0; i < ITERATIONS; i++) {
    const c = makeCase(random);
    const [a, b] = pipe();
    const reads = recordingReads(b);
    const guard = new AbortController();
    const timer = setTimeout(() => guard.abort(new Error("decoder hung")), HANG_MS);
    const where =
      `iteration ${i} (TETHER_FUZZ_SEED=${SEED}), typed=${c.typed} max=${c.max} input=${c.input.length}B`;
    try {
      const writing = writeRaw(a, c.input, random);
      const { outcome, framed } = await decodeRaw(reads.conn, c, guard.signal);
      await writing;
      assert.deepEqual(outcome, reference(c.input, c.typed, c.max), where);
      assert.ok(
        reads.largestBuffer <= Math.max(64 * 1024, c.max),
        `${where}: read into ${reads.largestBuffer}B`,
      );
      if (outcome.end !== "eof") await framed.closed; // bad input closed the conn
      framed.close();
      counts[outcome.end]++;
    } finally {
      clearTimeout(timer);
      a.close();
      b.close();
    }
  }
  console.log(`seed ${SEED}, ${ITERATIONS} inputs:`, counts);
  assert.ok(ITERATIONS < 100 || Object.values(counts).every((n) => n > 0), "every outcome was reached");
});
