/**
 * Fuzzes the yamux frame decoder and session: seeded random frame sequences
 * (streams opened, data within and past the window, window updates, FIN,
 * RST, pings, GoAway), mutated (bit flips, header fields set to edge values,
 * truncation, splices), written raw into a server session. Each run must end
 * as a plain reference model of the same bytes says: the session's outcome
 * (clean EOF, ProtocolError, ConnClosedError), and for every stream it
 * accepted, the same bytes and the same end. No hang, no other error, and no
 * stream holding more than its window.
 *
 * TETHER_FUZZ_ITERATIONS sets the count (CI default below; `deno task fuzz`
 * runs 100000), TETHER_FUZZ_SEED the seed: a failure prints both to replay it.
 */

import assert from "node:assert/strict";
import { ConnClosedError, pipe, ProtocolError } from "../mod.ts";
import { mux, type MuxStream } from "../mux/mod.ts";
import { envNumber, mutateBytes, Random } from "./fuzz_helpers.ts";
import { ACK, DATA, FIN, frame, GO_AWAY, PING, RST, SYN, WINDOW_UPDATE, within } from "./mux_helpers.ts";

const ITERATIONS = envNumber("TETHER_FUZZ_ITERATIONS", 2000);
const SEED = envNumber("TETHER_FUZZ_SEED", 0x6d75_7821);
const WINDOW = 256 * 1024;
const MAX_WINDOW = 1024 * 1024;

type End = "eof" | "ProtocolError" | "ConnClosedError";

interface Expected {
  session: "eof" | "protocol" | "closed";
  /** Per stream id, each stream opened with it, in order: an id may be reused once its stream ended. */
  streams: Map<number, { data: number[]; end: End }[]>;
}

/** What the session must make of `input`: a direct reading of the spec and of PROTOCOL.md's choices. */
function reference(input: Uint8Array): Expected {
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const streams: Expected["streams"] = new Map();
  const live = new Map<number, { credit: number; sendCredit: number; fin: boolean; data: number[] }>();
  const record = (id: number, data: number[], end: End) => {
    const list = streams.get(id) ?? [];
    list.push({ data, end });
    streams.set(id, list);
  };
  let maxRemote = 0;
  const finish = (session: Expected["session"]): Expected => {
    const error: End = session === "closed"
      ? "ConnClosedError"
      : session === "protocol"
      ? "ProtocolError"
      : "ConnClosedError";
    for (const [id, s] of live) record(id, s.data, s.fin ? "eof" : error);
    return { session, streams };
  };
  const kill = (id: number, end: End) => {
    const s = live.get(id)!;
    live.delete(id);
    record(id, s.data, s.fin ? "eof" : end);
  };
  let at = 0;
  for (;;) {
    if (at === input.length) return finish("eof");
    if (input.length - at < 12) return finish("protocol");
    const version = view.getUint8(at), type = view.getUint8(at + 1), flags = view.getUint16(at + 2);
    const id = view.getUint32(at + 4), length = view.getUint32(at + 8);
    at += 12;
    if (version !== 0 || (flags & ~0xf) !== 0 || type > 3) return finish("protocol");
    if (type === PING) {
      if (!(flags & (SYN | ACK))) return finish("protocol");
      continue;
    }
    if (type === GO_AWAY) {
      if (length === 0) continue;
      return finish(length === 1 ? "protocol" : length === 2 ? "closed" : "protocol");
    }
    if (id === 0) return finish("protocol");
    if (type === DATA && length > MAX_WINDOW) return finish("protocol");
    if (flags & SYN) {
      if (live.has(id) || id % 2 === 0) return finish("protocol");
      maxRemote = Math.max(maxRemote, id);
      live.set(id, { credit: WINDOW, sendCredit: WINDOW, fin: false, data: [] });
    } else if (!live.has(id)) {
      if (id % 2 === 0 || id > maxRemote) return finish("protocol");
      if (type === DATA) {
        if (input.length - at < length) return finish("protocol");
        at += length;
      }
      continue;
    }
    const s = live.get(id)!;
    if (type === WINDOW_UPDATE) {
      if (s.sendCredit + length > 0xffff_ffff) {
        kill(id, "ProtocolError");
        continue;
      }
      s.sendCredit += length;
    } else if (length > 0) {
      if (s.fin || length > s.credit) {
        kill(id, "ProtocolError");
        if (input.length - at < length) return finish("protocol");
        at += length;
        continue;
      }
      s.credit -= length;
      const available = Math.min(length, input.length - at);
      for (let i = 0; i < available; i++) s.data.push(input[at + i]);
      at += available;
      if (available < length) return finish("protocol");
    }
    if (flags & FIN) s.fin = true;
    if (flags & RST) kill(id, "ConnClosedError");
  }
}

function makeFrames(random: Random): { input: Uint8Array; starts: number[] } {
  const parts: Uint8Array[] = [];
  const open: number[] = [];
  let nextId = 1;
  for (let n = random.below(12); n > 0; n--) {
    const kind = random.below(10);
    const id = open.length > 0 && random.below(4) > 0 ? random.pick(open) : nextId;
    if (kind <= 3) {
      const size = random.below(10) === 0 ? random.below(WINDOW + 2) : random.below(300);
      const syn = id === nextId;
      if (syn) open.push(nextId), nextId += 2;
      parts.push(
        frame(DATA, (syn ? SYN : 0) | (random.below(6) === 0 ? FIN : 0), id, size, random.bytes(size)),
      );
    } else if (kind === 4) {
      const syn = id === nextId;
      if (syn) open.push(nextId), nextId += 2;
      parts.push(
        frame(WINDOW_UPDATE, syn ? SYN : random.pick([0, FIN, RST, ACK]), id, random.below(1 << 20)),
      );
    } else if (kind === 5) {
      parts.push(frame(PING, random.pick([SYN, ACK]), 0, random.next()));
    } else if (kind === 6) {
      parts.push(frame(GO_AWAY, 0, 0, random.below(8) === 0 ? random.below(4) : 0));
    } else if (kind === 7 && open.length > 0) {
      parts.push(frame(WINDOW_UPDATE, random.pick([FIN, RST]), random.pick(open), 0));
    } else {
      parts.push(frame(DATA, 0, id, 3, random.bytes(3)));
    }
  }
  const starts: number[] = [];
  let total = 0;
  for (const p of parts) starts.push(total), total += p.length;
  const input = new Uint8Array(total);
  parts.forEach((p, i) => input.set(p, starts[i]));
  return { input, starts };
}

function mutate(random: Random, input: Uint8Array, starts: number[]): Uint8Array {
  for (let r = 1 + random.below(3); r > 0; r--) {
    const kind = random.below(6);
    if (kind === 0 && starts.length > 0) { // a header field set to an edge value
      const at = random.pick(starts);
      if (at + 12 > input.length) continue;
      input = input.slice();
      const view = new DataView(input.buffer);
      const field = random.below(5);
      if (field === 0) view.setUint8(at, random.pick([1, 255]));
      else if (field === 1) view.setUint8(at + 1, random.pick([0, 1, 2, 3, 4, 255]));
      else if (field === 2) view.setUint16(at + 2, random.pick([0, SYN, ACK, FIN, RST, 0x10, 0xffff]));
      else if (field === 3) view.setUint32(at + 4, random.pick([0, 1, 2, 3, 0xffff_ffff]));
      else {view.setUint32(
          at + 8,
          random.pick([0, WINDOW, WINDOW + 1, MAX_WINDOW, MAX_WINDOW + 1, 0xffff_ffff]),
        );}
    } else if (kind === 1) {
      input = random.bytes(random.below(64));
    } else {
      input = mutateBytes(random, input);
    }
  }
  return input;
}

/** Reads what a stream holds after its session ended: its bytes and how it ended. */
async function drain(stream: MuxStream): Promise<{ data: number[]; end: End | string }> {
  const data: number[] = [];
  const buf = new Uint8Array(64 * 1024);
  try {
    for (let n; (n = await stream.read(buf)) !== null;) for (let i = 0; i < n; i++) data.push(buf[i]);
    return { data, end: "eof" };
  } catch (err) {
    return {
      data,
      end: err instanceof ProtocolError || err instanceof ConnClosedError ? err.name as End : String(err),
    };
  }
}

Deno.test(`mux session fuzz: ${ITERATIONS} random and mutated frame sequences end as the reference model says`, async () => {
  const random = new Random(SEED);
  const counts = { eof: 0, protocol: 0, closed: 0 };
  const compared = { streams: 0, bytes: 0, reset: 0 };
  for (let i = 0; i < ITERATIONS; i++) {
    const made = makeFrames(random);
    const input = random.below(3) === 0 ? made.input : mutate(random, made.input, made.starts);
    const expected = reference(input);
    const where = `iteration ${i} (TETHER_FUZZ_SEED=${SEED}), ${input.length} bytes`;
    const [a, b] = pipe();
    const session = mux(a, { role: "server", maxWindow: MAX_WINDOW });
    const accepted: MuxStream[] = [];
    const accepting = (async () => {
      for await (const s of session) accepted.push(s);
    })().catch(() => {});
    // What the session answers is read and dropped, so it never waits on us.
    const answers = (async () => {
      const buf = new Uint8Array(64 * 1024);
      while (await b.read(buf).catch(() => null) !== null);
    })();
    try {
      await b.write(input).catch(() => {});
      await b.closeWrite().catch(() => {});
      await within(session.closed, 10_000, where);
      await accepting;
      const outcome = session.error === null
        ? "eof"
        : session.error instanceof ProtocolError
        ? "protocol"
        : session.error instanceof ConnClosedError
        ? "closed"
        : `unexpected ${session.error}`;
      assert.equal(outcome, expected.session, `${where}: session ended with ${session.error}`);
      for (const stream of accepted) {
        const want = expected.streams.get(stream.id)?.shift();
        assert.ok(want !== undefined, `${where}: stream ${stream.id} was accepted but never opened`);
        const got = await drain(stream);
        assert.ok(got.data.length <= WINDOW, `${where}: stream ${stream.id} held ${got.data.length} bytes`);
        assert.deepEqual(got, want, `${where}: stream ${stream.id}`);
        compared.streams++;
        compared.bytes += got.data.length;
        if (got.end !== "eof") compared.reset++;
      }
      counts[outcome as keyof typeof counts]++;
    } finally {
      session.close();
      b.close();
      await answers;
    }
  }
  console.log(`seed ${SEED}, ${ITERATIONS} inputs:`, counts, "streams compared:", compared);
  assert.ok(ITERATIONS < 200 || Object.values(counts).every((n) => n > 0), "every outcome was reached");
});
