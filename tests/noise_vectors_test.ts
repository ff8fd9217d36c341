import assert from "node:assert/strict";
import { cipherFunctions, type CipherName, type CipherState } from "../crypto/cipher.ts";
import { setHostCrypto } from "../crypto/_host.ts";
import { HandshakeError } from "../errors.ts";
import { HandshakeState } from "../crypto/handshake.ts";
import { hashFunctions, type HashName } from "../crypto/hash.ts";
import { importKeyPair, type KeyPair } from "../crypto/keys.ts";
import { parsePattern } from "../crypto/patterns.ts";

/** The cacophony vectors; CI clones the repo with `shared/` beside it. */
const VECTORS_URL = new URL("../../shared/vectors/noise-25519.json", import.meta.url);

interface Vector {
  protocol_name: string;
  init_prologue: string;
  init_psks?: string[];
  init_static?: string;
  init_ephemeral: string;
  init_remote_static?: string;
  resp_prologue: string;
  resp_psks?: string[];
  resp_static?: string;
  resp_ephemeral?: string;
  resp_remote_static?: string;
  handshake_hash: string;
  messages: { payload: string; ciphertext: string }[];
}

const hex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));
const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const key = (s: string | undefined): Promise<KeyPair | undefined> =>
  s === undefined ? Promise.resolve(undefined) : importKeyPair(hex(s));

async function party(v: Vector, initiator: boolean): Promise<HandshakeState> {
  const [, patternName, dh, cipher, hash] = v.protocol_name.split("_");
  assert.equal(dh, "25519");
  const side = initiator ? "init" : "resp";
  return await HandshakeState.initialize({
    pattern: parsePattern(patternName),
    initiator,
    cipher: await cipherFunctions(cipher as CipherName),
    hash: hashFunctions(hash as HashName),
    prologue: hex(v[`${side}_prologue`]),
    s: await key(v[`${side}_static`]),
    e: await key(v[`${side}_ephemeral`]),
    rs: v[`${side}_remote_static`] === undefined ? undefined : hex(v[`${side}_remote_static`]!),
    psks: (v[`${side}_psks`] ?? []).map(hex),
  });
}

/**
 * Replays one vector: every handshake message, the hash, then the transport
 * messages. With `ahead`, every message whose ephemeral key a DH follows is
 * written with its head handed over first and read head first, as `secure()`
 * sends them.
 */
async function replay(v: Vector, ahead = false): Promise<void> {
  const pattern = parsePattern(v.protocol_name.split("_")[1]);
  const initiator = await party(v, true);
  const responder = await party(v, false);
  let i = 0;
  for (; i < pattern.messages.length; i++) {
    const [writer, reader] = i % 2 === 0 ? [initiator, responder] : [responder, initiator];
    const { payload, ciphertext } = v.messages[i];
    const headLength = writer.headLength();
    assert.equal(reader.headLength(), headLength, "both sides agree on the head");
    let head: Uint8Array | undefined;
    const message = ahead
      ? await writer.writeMessage(hex(payload), (bytes) => head = bytes.slice())
      : await writer.writeMessage(hex(payload));
    assert.equal(toHex(message), ciphertext, `${v.protocol_name}: handshake message ${i}`);
    assert.equal(message.length, reader.messageLength(payload.length / 2), "predicted length");
    if (ahead && headLength > 0) {
      assert.deepEqual(head, message.subarray(0, headLength), "the head is the message's start");
      await reader.readHead(message.slice(0, headLength));
    } else {
      assert.equal(head, undefined, "no head where no DH follows the ephemeral key");
    }
    assert.equal(toHex(await reader.readMessage(message)), payload, `${v.protocol_name}: read ${i}`);
  }
  const ini = await initiator.split();
  const res = await responder.split();
  assert.equal(toHex(ini.handshakeHash), v.handshake_hash, `${v.protocol_name}: handshake hash`);
  assert.equal(toHex(res.handshakeHash), v.handshake_hash);
  // After the handshake, one-way patterns only ever send from the initiator;
  // interactive ones keep alternating.
  for (; i < v.messages.length; i++) {
    const fromInitiator = pattern.oneWay || i % 2 === 0;
    const [send, receive]: CipherState[] = fromInitiator ? [ini.send, res.receive] : [res.send, ini.receive];
    const { payload, ciphertext } = v.messages[i];
    const sealed = await send.encryptWithAd(new Uint8Array(0), hex(payload));
    assert.equal(toHex(sealed), ciphertext, `${v.protocol_name}: transport message ${i}`);
    assert.equal(toHex(await receive.decryptWithAd(new Uint8Array(0), sealed)), payload);
  }
}

async function replayAll(ahead = false): Promise<void> {
  const { vectors } = JSON.parse(await Deno.readTextFile(VECTORS_URL)) as { vectors: Vector[] };
  const failures: string[] = [];
  let ran = 0;
  for (const v of vectors) {
    try {
      await replay(v, ahead);
      ran++;
    } catch (err) {
      failures.push(`${v.protocol_name}: ${err instanceof Error ? err.message : err}`);
    }
  }
  assert.deepEqual(failures, []);
  // 59 patterns x 2 ciphers x 2 hashes: all of them, none skipped.
  assert.equal(ran, vectors.length);
  assert.equal(ran, 236);
}

Deno.test("every cacophony vector for 25519 with AESGCM/ChaChaPoly and SHA256/SHA512 replays exactly", async () => {
  await replayAll();
});

Deno.test("every vector replays the same with ephemeral keys sent and read ahead of the DHs behind them", async () => {
  await replayAll(true);
});

Deno.test("a head is read once, at its length, before its message; a bad one fails the handshake", async () => {
  // No ephemeral keys given: fresh ones.
  const v = {
    protocol_name: "Noise_NN_25519_ChaChaPoly_SHA256",
    init_prologue: "",
    resp_prologue: "",
  } as Vector;
  const fresh = async () => {
    const initiator = await party(v, true);
    const responder = await party(v, false);
    await responder.readMessage(await initiator.writeMessage(new Uint8Array(0)));
    return { initiator, responder };
  };
  const { initiator, responder } = await fresh();
  assert.equal(initiator.headLength(), 32); // NN's second message: e, ee
  const message = await responder.writeMessage(new Uint8Array(0));
  await assert.rejects(initiator.readHead(message.subarray(0, 31)), /readHead\(\) takes the 32 bytes/);
  await initiator.readHead(message.subarray(0, 32));
  await assert.rejects(initiator.readHead(message.subarray(0, 32)), /once/);
  assert.equal((await initiator.readMessage(message)).length, 0);
  assert.equal(initiator.headLength(), 0); // complete
  // A low-order key in the head fails there, and the state for good.
  const second = await fresh();
  await assert.rejects(second.initiator.readHead(new Uint8Array(32)), HandshakeError);
  await assert.rejects(second.initiator.readMessage(new Uint8Array(48)), /already failed/);
});

Deno.test("every vector replays exactly on WebCrypto alone too (a runtime without node:crypto)", async () => {
  setHostCrypto(null);
  try {
    await replayAll();
  } finally {
    setHostCrypto(undefined);
  }
});
