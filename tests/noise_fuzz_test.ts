/**
 * Fuzzes what a peer controls in a secure conn: the message the responder
 * reads first, the reply the initiator reads, and the record stream after
 * the handshake. Every input must end in a typed error (HandshakeError,
 * ProtocolError) or a clean result; a hang would leave the in-memory event
 * loop with nothing to do, which Deno reports as a failure.
 *
 * Seeded and reproducible. CI runs a short pass; the full run is
 *
 *     TETHER_FUZZ_ITERATIONS=100000 deno test --allow-read --allow-env tests/noise_fuzz_test.ts
 *
 * (TETHER_FUZZ_SEED picks another seed). The count is split over the three
 * targets.
 */

import assert from "node:assert/strict";
import { seededRandom } from "../testing/_random.ts";
import { envNumber } from "./fuzz_helpers.ts";
import { type Conn, HandshakeError, pipe, ProtocolError } from "../mod.ts";
import { importKeyPair, type PatternName, secure, type SecureOptions } from "../crypto/mod.ts";
import { setTestHooks } from "../crypto/_internal.ts";
import { AESGCM } from "../crypto/cipher.ts";
import { HandshakeState } from "../crypto/handshake.ts";
import { SHA256 } from "../crypto/hash.ts";
import { parsePattern } from "../crypto/patterns.ts";
import { SecureQueueConn } from "../crypto/records.ts";
import { FrameReader } from "../crypto/wire.ts";
import { readExactly } from "./crypto_helpers.ts";
import { readAll } from "./frame_helpers.ts";

const ITERATIONS = envNumber("TETHER_FUZZ_ITERATIONS", 6000);
const SEED = envNumber("TETHER_FUZZ_SEED", 0x7e7e);
const PER_TARGET = Math.ceil(ITERATIONS / 3);

/** Makes inputs from valid samples: random bytes, bit flips, truncations, bad length fields, splices. */
function mutator(seed: number, samples: Uint8Array[]) {
  const random = seededRandom(seed);
  const int = (n: number) => Math.floor(random() * n);
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
  const setLength = (input: Uint8Array, at: number, length: number) => {
    if (at + 2 <= input.length) input[at] = length >>> 8, input[at + 1] = length & 0xff;
    return input;
  };
  return (): Uint8Array => {
    const sample = samples[int(samples.length)];
    const input = sample.slice();
    switch (int(9)) {
      case 0:
        return bytes(int(300));
      case 1: // a plausible length prefix, then noise
        return setLength(bytes(2 + int(200)), 0, int(200));
      case 2: { // bit flips
        for (let i = 1 + int(8); i > 0; i--) input[int(input.length)] ^= 1 << int(8);
        return input;
      }
      case 3:
        return input.subarray(0, int(input.length));
      case 4: // the first length field set to 0, max, or around the true one
        return setLength(input, 0, [0, 0xffff, 0xfffe, (input[0] << 8 | input[1]) + 1][int(4)]);
      case 5: { // a later frame's length field (records)
        const at = frameStarts(input);
        return setLength(input, at[int(at.length)], [0, 15, 16, 0xffff][int(4)]);
      }
      case 6: { // valid prefix, random tail
        const cut = int(input.length + 1);
        const out = new Uint8Array(cut + int(100));
        out.set(input.subarray(0, cut));
        out.set(bytes(out.length - cut), cut);
        return out;
      }
      case 7: { // a span repeated or swapped in
        const from = int(input.length), to = int(input.length), n = int(200);
        const out = new Uint8Array(input.length + n);
        out.set(input.subarray(0, to));
        out.set(input.subarray(from, from + n), to);
        out.set(input.subarray(to), to + Math.min(n, input.length - from));
        return out.subarray(0, input.length + Math.min(n, input.length - from));
      }
      default:
        return input; // the valid sample itself: must succeed
    }
  };
}

/** Where each length-prefixed frame of `input` starts. */
function frameStarts(input: Uint8Array): number[] {
  const starts: number[] = [];
  for (let at = 0; at + 2 <= input.length; at += 2 + ((input[at] << 8) | input[at + 1])) starts.push(at);
  return starts.length ? starts : [0];
}

const psk = new Uint8Array(32).fill(9);
const pair = (n: number) => importKeyPair(new Uint8Array(32).fill(n));

interface Setup {
  pattern: PatternName;
  initiator: SecureOptions;
  responder: SecureOptions;
}

async function setups(): Promise<Setup[]> {
  const [si, sr, ei, er] = await Promise.all([pair(1), pair(2), pair(3), pair(4)]);
  const make = (pattern: PatternName, i: Partial<SecureOptions>, r: Partial<SecureOptions>): Setup => ({
    pattern,
    initiator: setTestHooks({ role: "initiator", pattern, ...i }, { ephemeral: ei }),
    responder: setTestHooks({ role: "responder", pattern, ...r }, { ephemeral: er }),
  });
  return [
    make("NN", {}, {}),
    make("NNpsk0", { psk }, { psk }),
    make("XX", { staticKeyPair: si }, { staticKeyPair: sr }),
    make("IK", { staticKeyPair: si, remoteStaticKey: sr.publicKey }, { staticKeyPair: sr }),
    make("KK", { staticKeyPair: si, remoteStaticKey: sr.publicKey }, {
      staticKeyPair: sr,
      remoteStaticKey: si.publicKey,
    }),
  ];
}

/** The first two frames of a real handshake with fixed ephemerals: valid every time. */
async function recordHandshake(setup: Setup): Promise<[Uint8Array, Uint8Array]> {
  const [a, toA] = pipe();
  const [toB, b] = pipe();
  const dialing = secure(a, setup.initiator);
  const serving = secure(b, setup.responder);
  const frame = async (conn: Conn) => {
    const head = await readExactly(conn, 2);
    const body = await readExactly(conn, (head[0] << 8) | head[1]);
    return Uint8Array.from([...head, ...body]);
  };
  const first = await frame(toA);
  await toB.write(first);
  const second = await frame(toB);
  await toA.write(second);
  // Pass the rest (XX's third message) along.
  const rest = (async () => {
    const buf = new Uint8Array(4096);
    for (let n; (n = await toA.read(buf).catch(() => null)) !== null;) await toB.write(buf.subarray(0, n));
  })();
  const [x, y] = await Promise.all([dialing, serving]);
  x.close(), y.close(), toA.close(), toB.close();
  await Promise.all([x.closed, y.closed, rest]);
  return [first, second];
}

/** Feeds `input` to one side's handshake; returns whether it completed. */
async function feedHandshake(
  options: SecureOptions,
  input: Uint8Array,
  skipFirst: boolean,
): Promise<boolean> {
  const [ours, theirs] = pipe();
  const handshaking = secure(theirs, options);
  if (skipFirst) {
    const head = await readExactly(ours, 2);
    await readExactly(ours, (head[0] << 8) | head[1]);
  }
  await ours.write(input);
  await ours.closeWrite();
  try {
    const conn = await handshaking;
    conn.close();
    await conn.closed;
    return true;
  } catch (err) {
    assert.ok(err instanceof HandshakeError, `input ${hex(input)} gave ${err}`);
    return false;
  } finally {
    ours.close();
  }
}

const hex = (b: Uint8Array) => Array.from(b.subarray(0, 64), (x) => x.toString(16).padStart(2, "0")).join("");

Deno.test(`fuzz: the responder reading message 1 (${PER_TARGET} inputs, seed ${SEED})`, async () => {
  const all = await setups();
  const firsts = await Promise.all(all.map(async (s) => (await recordHandshake(s))[0]));
  const next = all.map((_, i) => mutator(SEED + i, [firsts[i]]));
  let completed = 0;
  for (let n = 0; n < PER_TARGET; n++) {
    const i = n % all.length;
    if (await feedHandshake(all[i].responder, next[i](), false)) completed++;
  }
  assert.ok(completed > 0, "no valid input got through: the harness is broken");
  assert.ok(completed < PER_TARGET, "no input failed: the harness is broken");
});

Deno.test(`fuzz: the initiator reading message 2 (${PER_TARGET} inputs, seed ${SEED})`, async () => {
  const all = await setups();
  const seconds = await Promise.all(all.map(async (s) => (await recordHandshake(s))[1]));
  const next = all.map((_, i) => mutator(SEED * 3 + i, [seconds[i]]));
  let completed = 0;
  for (let n = 0; n < PER_TARGET; n++) {
    const i = n % all.length;
    // XX's initiator answers message 2 with message 3, which nobody reads: fine in the pipe's window.
    if (await feedHandshake(all[i].initiator, next[i](), true)) completed++;
  }
  assert.ok(completed > 0 && completed < PER_TARGET);
});

Deno.test(`fuzz: the record decoder (${PER_TARGET} inputs, seed ${SEED})`, async () => {
  // One fixed session; each input gets a fresh conn whose receive nonce starts at 0.
  const [ei, er] = await Promise.all([pair(5), pair(6)]);
  const init = { pattern: parsePattern("NN"), cipher: AESGCM, hash: SHA256 };
  const initiator = await HandshakeState.initialize({ ...init, initiator: true, e: ei });
  const responder = await HandshakeState.initialize({ ...init, initiator: false, e: er });
  await responder.readMessage(await initiator.writeMessage(new Uint8Array(0)));
  await initiator.readMessage(await responder.writeMessage(new Uint8Array(0)));
  const [sender, receiver] = [await initiator.split(), await responder.split()];
  // Valid streams: a few records and the EOF record.
  const streams: Uint8Array[] = [];
  for (const sizes of [[0], [1, 0], [100, 3000, 0], [65519, 5, 0]]) {
    const frames: number[] = [];
    for (const size of sizes) {
      const sealed = await sender.send.encryptWithAd(
        new Uint8Array(0),
        new Uint8Array(size).fill(size & 0xff),
      );
      frames.push(sealed.length >>> 8, sealed.length & 0xff, ...sealed);
    }
    streams.push(Uint8Array.from(frames));
  }
  const next = mutator(SEED * 7, streams);
  let clean = 0;
  for (let n = 0; n < PER_TARGET; n++) {
    const input = next();
    receiver.receive.setNonce(0n);
    const [ours, theirs] = pipe({ bufferSize: 256 * 1024 });
    const conn = new SecureQueueConn({
      conn: theirs,
      reader: new FrameReader(theirs),
      send: receiver.send,
      receive: receiver.receive,
      protocol: "fuzz",
      remoteStaticKey: null,
      handshakeHash: new Uint8Array(32),
      bufferSize: 65536,
      closeTimeout: 1000,
    });
    await ours.write(input);
    ours.close();
    try {
      await readAll(conn);
      clean++;
    } catch (err) {
      // A lone refusal byte (see crypto/refusal.ts) reads as the peer giving up on the handshake.
      const refusal = err instanceof HandshakeError &&
        /the peer (refused|could not authenticate)/.test(err.message);
      assert.ok(err instanceof ProtocolError || refusal, `input ${hex(input)} gave ${err}`);
    }
    conn.close();
    await conn.closed;
  }
  assert.ok(clean > 0 && clean < PER_TARGET);
});
