/**
 * Fuzzes the channel protocol decoder: seeded random and mutated message
 * streams from a misbehaving peer, fed to the two ends of a link (the one
 * that receives values and the one that sends them) and to the parsers of
 * the handshake messages. Every case must end, within a bound, cleanly or
 * with a typed error (`ProtocolError`, `MessageTooLargeError`,
 * `ConnClosedError`), with no crash, and never with more values taken in
 * than the credit granted.
 *
 * TETHER_FUZZ_ITERATIONS sets the count (CI default below; `deno task fuzz`
 * runs 100000), TETHER_FUZZ_SEED the seed: a failure prints both.
 */

import assert from "node:assert/strict";
import { ConnClosedError, MessageTooLargeError, pipe, ProtocolError, typedFrames } from "../mod.ts";
import { envNumber, mutateBytes, Random, splice } from "./fuzz_helpers.ts";
import { msgpackCodec } from "../netchan/mod.ts";
import { Inbox } from "../netchan/_inbox.ts";
import { RecvLink, SendLink } from "../netchan/_link.ts";
import { Outbox } from "../netchan/_outbox.ts";
import {
  ackBody,
  hangupBody,
  importBody,
  parseAck,
  parseHangup,
  parseImport,
  parseRefuse,
  refuseBody,
  Type,
} from "../netchan/_wire.ts";

const ITERATIONS = envNumber("TETHER_FUZZ_ITERATIONS", 2000);
const SEED = envNumber("TETHER_FUZZ_SEED", 0x5eed_c4a1);
const HANG_MS = 10_000;
const MAX_MESSAGE = 4096;

interface Message {
  type: number;
  body: Uint8Array;
}

function frame(messages: Message[]): Uint8Array {
  const out = new Uint8Array(messages.reduce((n, m) => n + 8 + m.body.length, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const m of messages) {
    view.setUint32(at, m.body.length);
    view.setUint32(at + 4, m.type);
    out.set(m.body, at + 8);
    at += 8 + m.body.length;
  }
  return out;
}

/** What a well-behaved peer of a receiving link sends: VALUEs within credit, then END or HANGUP. */
function senderMessages(random: Random, window: number): Message[] {
  const messages: Message[] = [];
  for (let i = random.below(window + 2); i > 0; i--) {
    messages.push({ type: Type.VALUE, body: msgpackCodec.encode({ i, s: "x".repeat(random.below(40)) }) });
  }
  const last = random.below(3);
  if (last === 0) messages.push({ type: Type.END, body: new Uint8Array(0) });
  if (last === 1) messages.push({ type: Type.HANGUP, body: hangupBody("fuzz") });
  return messages;
}

/** What a well-behaved peer of a sending link sends: ACKs with credit, maybe a HANGUP. */
function receiverMessages(random: Random, window: number): Message[] {
  const messages: Message[] = [{ type: Type.ACK, body: ackBody(0, 1 + random.below(window)) }];
  for (let i = random.below(5); i > 0; i--) {
    messages.push({ type: Type.ACK, body: ackBody(random.below(3), random.below(3)) });
  }
  if (random.below(2) === 0) messages.push({ type: Type.HANGUP, body: hangupBody("") });
  return messages;
}

function mutate(random: Random, input: Uint8Array): Uint8Array {
  for (let r = 1 + random.below(3); r > 0; r--) {
    const kind = random.below(6);
    if (kind === 0 && input.length >= 8) {
      // A type or length field set to an edge value, at a random frame-ish offset.
      input = input.slice();
      const at = random.below(input.length - 7);
      new DataView(input.buffer).setUint32(
        at,
        random.pick([0, 1, 4, 7, 8, 255, MAX_MESSAGE + 1, 0xffff_ffff]),
      );
    } else if (kind === 1) {
      // A whole random message spliced in.
      const body = random.bytes(random.below(12));
      input = splice(input, random.below(input.length + 1), frame([{ type: random.below(10), body }]));
    } else {
      input = mutateBytes(random, input, { maxDrop: 20 });
    }
  }
  return input;
}

function typed(err: unknown): boolean {
  return err instanceof ProtocolError || err instanceof MessageTooLargeError ||
    err instanceof ConnClosedError;
}

/** Feeds `input` to one end of a link on a fresh pipe; resolves with how it ended. */
async function runLink(random: Random, role: "recv" | "send", input: Uint8Array): Promise<string> {
  const [a, b] = pipe();
  const window = 1 + random.below(8);
  let done!: (error: unknown) => void;
  const ended = new Promise<unknown>((resolve) => done = resolve);
  const init = {
    channel: "fuzz",
    stream: a,
    frames: typedFrames(a, { maxMessageSize: MAX_MESSAGE }),
    addr: "memory:fuzz",
    window,
    onDone: (error: unknown) => done(error),
  };
  const writing = (async () => {
    try {
      for (let at = 0; at < input.length;) {
        const n = 1 + random.below(64);
        await b.write(input.subarray(at, at + n));
        at += n;
      }
      await b.closeWrite();
    } catch {
      // The link may close on bad input before all of it was written.
    }
  })();
  // The peer's end reads and discards what the link writes.
  const draining = (async () => {
    const buf = new Uint8Array(4096);
    try {
      while (await b.read(buf) !== null);
    } catch {
      // Closed.
    }
  })();
  let taken = 0;
  if (role === "recv") {
    const inbox = new Inbox(() => {});
    const link = new RecvLink(init, {
      inbox,
      codec: msgpackCodec,
      limit: random.below(3) === 0 ? 1 + random.below(5) : Infinity,
      report: () => {},
      onEnd: () => inbox.end(),
    });
    link.start();
    (async () => {
      for await (const _ of inbox.readable) taken++;
    })().catch(() => {});
  } else {
    const outbox = new Outbox({
      channel: "fuzz",
      codec: msgpackCodec,
      maxMessageSize: MAX_MESSAGE,
      highWaterMark: 4,
      report: () => {},
      onClosed: () => {},
      onAborted: () => {},
    });
    const writer = outbox.writable.getWriter();
    for (let i = 0; i < 1 + random.below(10); i++) writer.write(i).catch(() => {});
    if (random.below(2) === 0) writer.close().catch(() => {});
    new SendLink(init, outbox).start();
  }
  const error = await ended;
  a.close();
  b.close();
  await Promise.all([writing, draining]);
  assert.ok(taken <= window + 8, `took ${taken} values with a window of ${window}`);
  if (error === null) return "clean";
  assert.ok(typed(error), `untyped error: ${error}`);
  return (error as Error).name;
}

/** The handshake parsers take any body and return or throw `ProtocolError`. */
function runParsers(random: Random): void {
  const valid = [
    importBody({
      direction: random.pick(["recv", "send"] as const),
      window: 1 + random.below(100),
      count: 0,
      codec: "msgpackr",
      name: "n",
    }),
    refuseBody("unknown channel", "why"),
    ackBody(random.below(5), random.below(5)),
    hangupBody("bye"),
  ];
  const body = random.below(3) === 0 ? random.bytes(random.below(40)) : mutate(random, random.pick(valid));
  for (const parse of [parseImport, parseRefuse, parseAck, parseHangup]) {
    try {
      parse(body, "memory:fuzz");
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw new Error(`${parse.name} threw ${err}`);
    }
  }
}

Deno.test(`channel protocol fuzz: ${ITERATIONS} random and mutated peers end cleanly or with typed errors`, async () => {
  const random = new Random(SEED);
  const outcomes: Record<string, number> = {};
  for (let i = 0; i < ITERATIONS; i++) {
    const where = `iteration ${i} (TETHER_FUZZ_SEED=${SEED})`;
    runParsers(random);
    const role = random.pick(["recv", "send"] as const);
    const window = 8;
    const messages = role === "recv" ? senderMessages(random, window) : receiverMessages(random, window);
    const style = random.below(4);
    const input = style === 0
      ? random.bytes(random.below(100))
      : style === 1
      ? frame(messages)
      : mutate(random, frame(messages));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const hang = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${where}: the link hung`)), HANG_MS);
    });
    try {
      const outcome = await Promise.race([runLink(random, role, input), hang]);
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    } catch (err) {
      throw new Error(`${where}: ${err instanceof Error ? err.message : err}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }
  console.log(`seed ${SEED}, ${ITERATIONS} peers:`, outcomes);
  if (ITERATIONS >= 500) {
    for (const outcome of ["clean", "ProtocolError", "ConnClosedError"]) {
      assert.ok(outcomes[outcome] > 0, `no case ended as ${outcome}`);
    }
  }
});
