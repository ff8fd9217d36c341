import assert from "node:assert/strict";
import {
  type Conn,
  ConnClosedError,
  ConnError,
  HandshakeError,
  NonceExhaustedError,
  pipe,
  ProtocolError,
} from "../mod.ts";
import * as cryptoMod from "../crypto/mod.ts";
import {
  generateKeyPair,
  importKeyPair,
  type KeyPair,
  type PatternName,
  secure,
  type SecureConn,
  type SecureOptions,
} from "../crypto/mod.ts";
import { setTestHooks, type TestHooks } from "../crypto/_internal.ts";
import { CipherState, MAX_NONCE } from "../crypto/cipher.ts";
import { AESGCM } from "../crypto/cipher.ts";
import { bothSides, closeAll, randomBytes, readExactly, relay, type Side } from "./crypto_helpers.ts";
import { readAll } from "./frame_helpers.ts";

const text = (s: string) => new TextEncoder().encode(s);
const MiB = 1024 * 1024;
const psk = new Uint8Array(32).fill(7);

/** Runs both handshakes over a fresh pipe; rejects if either side does. */
async function handshakePair(
  initiator: Side,
  responder: Side = initiator,
): Promise<[SecureConn, SecureConn]> {
  const [a, b] = pipe();
  const results = await Promise.allSettled([
    secure(a, { ...initiator, role: "initiator" }),
    secure(b, { ...responder, role: "responder" }),
  ]);
  if (results[0].status === "rejected" || results[1].status === "rejected") {
    for (const r of results) if (r.status === "fulfilled") r.value.close();
    throw results[0].status === "rejected" ? results[0].reason : (results[1] as PromiseRejectedResult).reason;
  }
  return [results[0].value, results[1].value];
}

async function keys(): Promise<{ i: KeyPair; r: KeyPair }> {
  return { i: await generateKeyPair(), r: await generateKeyPair() };
}

const equalKeys = (a: Uint8Array) => (b: Uint8Array) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** Options per pattern, initiator then responder, for keys `k`. */
function patternOptions(pattern: PatternName, k: { i: KeyPair; r: KeyPair }): [Side, Side] {
  switch (pattern) {
    case "NN":
      return [{ pattern }, { pattern }];
    case "NNpsk0":
      return [{ pattern, psk }, { pattern, psk }];
    case "XX":
      return [
        { pattern, staticKeyPair: k.i, verifyRemote: equalKeys(k.r.publicKey) },
        { pattern, staticKeyPair: k.r, verifyRemote: async (key) => await equalKeys(k.i.publicKey)(key) },
      ];
    case "KK":
      return [
        { pattern, staticKeyPair: k.i, remoteStaticKey: k.r.publicKey },
        { pattern, staticKeyPair: k.r, remoteStaticKey: k.i.publicKey },
      ];
    case "IK":
      return [
        { pattern, staticKeyPair: k.i, remoteStaticKey: k.r.publicKey },
        { pattern, staticKeyPair: k.r, verifyRemote: equalKeys(k.i.publicKey) },
      ];
  }
  throw new Error(`no options for ${pattern}`);
}

for (const pattern of ["NN", "NNpsk0", "XX", "KK", "IK"] as const) {
  for (const cipher of ["AESGCM", "ChaChaPoly"] as const) {
    Deno.test(`${pattern} with ${cipher}: both ends agree on the session and carry bytes both ways`, async () => {
      const k = await keys();
      const [io, ro] = patternOptions(pattern, k);
      const [a, b] = await handshakePair({ ...io, cipher }, { ...ro, cipher });
      assert.equal(a.protocol, `Noise_${pattern}_25519_${cipher}_SHA256`);
      assert.deepEqual(a.handshakeHash, b.handshakeHash);
      if (pattern === "NN" || pattern === "NNpsk0") {
        assert.equal(a.remoteStaticKey, null);
        assert.equal(b.remoteStaticKey, null);
      } else {
        assert.deepEqual(a.remoteStaticKey, k.r.publicKey);
        assert.deepEqual(b.remoteStaticKey, k.i.publicKey);
      }
      await a.write(text("ping"));
      assert.deepEqual(await readExactly(b, 4), text("ping"));
      await b.write(text("pong"));
      assert.deepEqual(await readExactly(a, 4), text("pong"));
      await closeAll(a, b);
    });
  }
}

Deno.test("SHA512 sessions work and differ from SHA256 ones", async () => {
  const [a, b] = await handshakePair({ hash: "SHA512" });
  assert.equal(a.protocol, "Noise_NN_25519_AESGCM_SHA512");
  assert.equal(a.handshakeHash.length, 64);
  await a.write(text("x"));
  assert.deepEqual(await readExactly(b, 1), text("x"));
  await closeAll(a, b);
});

Deno.test("a wrong PSK fails the handshake on both sides with HandshakeError", async () => {
  const other = new Uint8Array(32).fill(8);
  const [i, r] = await bothSides({ pattern: "NNpsk0", psk }, { pattern: "NNpsk0", psk: other });
  assert.equal(i.status, "rejected");
  assert.equal(r.status, "rejected");
  assert.ok(i.reason instanceof HandshakeError, String(i.reason));
  assert.ok(r.reason instanceof HandshakeError, String(r.reason));
});

Deno.test("verifyRemote returning false, or rejecting, fails the handshake with HandshakeError", async () => {
  const k = await keys();
  for (const verifyRemote of [() => false, () => Promise.reject(new Error("unknown key")), () => undefined]) {
    const [i, r] = await bothSides(
      { pattern: "XX", staticKeyPair: k.i, verifyRemote: verifyRemote as () => boolean },
      { pattern: "XX", staticKeyPair: k.r },
    );
    assert.ok(i.status === "rejected" && i.reason instanceof HandshakeError, String(i));
    assert.match(i.reason.message, /verifyRemote/);
    // The responder learns of it as EOF before its last message.
    assert.ok(r.status === "rejected" && r.reason instanceof HandshakeError);
  }
});

Deno.test("IK against a responder with another static key fails with HandshakeError", async () => {
  const k = await keys();
  const stranger = await generateKeyPair();
  const [i, r] = await bothSides(
    { pattern: "IK", staticKeyPair: k.i, remoteStaticKey: stranger.publicKey },
    { pattern: "IK", staticKeyPair: k.r },
  );
  assert.ok(i.status === "rejected" && i.reason instanceof HandshakeError);
  assert.ok(r.status === "rejected" && r.reason instanceof HandshakeError);
});

Deno.test("mismatched patterns or ciphers fail the handshake with HandshakeError", async () => {
  const k = await keys();
  const [i] = await bothSides({ pattern: "NN" }, { pattern: "XX", staticKeyPair: k.r });
  assert.ok(i.status === "rejected" && i.reason instanceof HandshakeError);
  const [i2] = await bothSides({ cipher: "AESGCM" }, { cipher: "ChaChaPoly" });
  assert.ok(i2.status === "rejected" && i2.reason instanceof HandshakeError);
});

Deno.test("a peer speaking another protocol is refused at once with HandshakeError, and the conn closed", async () => {
  const [a, b] = pipe();
  const serving = secure(b, { role: "responder" });
  await a.write(text("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  await assert.rejects(serving, HandshakeError);
  // Told why in one frame (a length of 1, the reason 3: "mismatch"), then the conn closed.
  const told = new Uint8Array(3);
  for (let got = 0; got < told.length;) got += (await a.read(told.subarray(got)))!;
  assert.deepEqual([...told], [0, 1, 3]);
  assert.equal(await a.read(new Uint8Array(1)), null, "the responder closed its conn");
  a.close();
});

Deno.test("garbage as the responder's reply fails the initiator with HandshakeError", async () => {
  const [a, b] = pipe();
  const dialing = secure(a, { role: "initiator", pattern: "XX", staticKeyPair: (await keys()).i });
  await readExactly(b, 34); // the initiator's first message
  const junk = crypto.getRandomValues(new Uint8Array(2 + 96));
  junk[0] = 0, junk[1] = 96; // the right length for XX message 2, but random bytes
  await b.write(junk);
  await assert.rejects(dialing, HandshakeError);
  b.close();
});

Deno.test("EOF in the middle of a handshake message is a HandshakeError", async () => {
  const [a, b] = pipe();
  const serving = secure(b, { role: "responder" });
  await a.write(Uint8Array.of(0, 32, 1, 2, 3));
  await a.closeWrite();
  const err = await serving.catch((e) => e);
  assert.ok(err instanceof HandshakeError, String(err));
  a.close();
});

/** A ConnError that names the handshake, is caused by `reason`, and says whether it was a deadline. */
const abortedHandshake = (reason: unknown, timeout = false) => (e: ConnError) =>
  e instanceof ConnError && e.op === "handshake" && e.cause === reason && e.timeout === timeout &&
  e.code === (timeout ? "ETIMEDOUT" : "ECANCELED");

Deno.test("a signal aborted mid-handshake rejects with a ConnError caused by its reason, and closes the conn", async () => {
  const [a, b] = pipe();
  const controller = new AbortController();
  const reason = new Error("gave up");
  const serving = secure(b, { role: "responder", signal: controller.signal });
  await new Promise((r) => setTimeout(r, 10));
  controller.abort(reason);
  await assert.rejects(serving, abortedHandshake(reason));
  assert.equal(await a.read(new Uint8Array(1)), null);
  a.close();
});

Deno.test("a deadline over a handshake whose peer never answers says the handshake on that address timed out", async () => {
  const [a, b] = pipe();
  const err = await secure(a, { role: "initiator", signal: AbortSignal.timeout(30) }).catch((e) => e);
  assert.ok(err instanceof ConnError && err.timeout, String(err));
  assert.equal(err.message, "handshake memory:pipe: timed out");
  assert.equal((err.cause as DOMException).name, "TimeoutError");
  b.close();
});

Deno.test("an already-aborted signal fails at once", async () => {
  const [a, b] = pipe();
  const reason = new Error("too late");
  await assert.rejects(
    secure(a, { role: "initiator", signal: AbortSignal.abort(reason) }),
    abortedHandshake(reason),
  );
  b.close();
});

Deno.test("a signal aborted while verifyRemote is still deciding rejects with its reason", async () => {
  const k = await keys();
  const controller = new AbortController();
  const reason = new Error("slow verifier");
  let asked!: () => void;
  const wasAsked = new Promise<void>((r) => asked = r);
  const [a, b] = pipe();
  const serving = secure(b, { role: "responder", pattern: "XX", staticKeyPair: k.r });
  const dialing = secure(a, {
    role: "initiator",
    pattern: "XX",
    staticKeyPair: k.i,
    signal: controller.signal,
    verifyRemote: () => (asked(), new Promise<boolean>(() => {})),
  });
  await wasAsked;
  controller.abort(reason);
  await assert.rejects(dialing, abortedHandshake(reason));
  await assert.rejects(serving, HandshakeError);
});

Deno.test("bad options are TypeError or RangeError and leave the conn usable", async () => {
  const [a, b] = pipe();
  const k = await generateKeyPair();
  const bad: unknown[] = [
    { role: "server" },
    { role: "initiator", pattern: "ZZ" },
    { role: "initiator", pattern: "N" },
    { role: "initiator", pattern: "NNpsk9" },
    { role: "initiator", pattern: "NNpsk0" },
    { role: "initiator", pattern: "NNpsk0", psk: new Uint8Array(31) },
    { role: "initiator", psk },
    { role: "initiator", pattern: "XX" },
    { role: "initiator", pattern: "IK", staticKeyPair: k },
    { role: "initiator", verifyRemote: () => true },
    { role: "initiator", cipher: "DES" },
    { role: "initiator", hash: "MD5" },
    { role: "initiator", bufferSize: 0 },
    { role: "initiator", prologue: "hello" },
  ];
  for (const options of bad) {
    const err = await secure(a, options as SecureOptions).catch((e) => e);
    assert.ok(err instanceof TypeError || err instanceof RangeError, `${JSON.stringify(options)}: ${err}`);
  }
  await a.write(text("still open"));
  assert.deepEqual(await readExactly(b, 10), text("still open"));
  await closeAll(a, b);
});

/** Sends `data` as records through a mangling relay; returns what the responder read and how it ended. */
async function throughRelay(
  mangle: (records: Uint8Array[], out: Conn) => Promise<void>,
  data: Uint8Array,
): Promise<{ read: Uint8Array; error: unknown; responder: SecureConn }> {
  const [a, b, relaying] = relay(mangle);
  const [initiator, responder] = await Promise.all([
    secure(a, { role: "initiator" }),
    secure(b, { role: "responder" }),
  ]);
  await initiator.write(data);
  await initiator.closeWrite();
  // Keep what arrives before any error.
  const got: Uint8Array<ArrayBuffer>[] = [];
  const buf = new Uint8Array(64 * 1024);
  let error: unknown = null;
  try {
    for (let n; (n = await responder.read(buf)) !== null;) got.push(buf.slice(0, n));
  } catch (err) {
    error = err;
  }
  initiator.close();
  await relaying;
  await Promise.all([initiator.closed, responder.closed]);
  return { read: new Uint8Array(await new Blob(got).arrayBuffer()), error, responder };
}

const payload = randomBytes(200_000); // four records

Deno.test("an untouched relay delivers every byte and a clean EOF", async () => {
  const { read, error } = await throughRelay(async (records, out) => {
    for (const r of records) await out.write(r);
  }, payload);
  assert.equal(error, null);
  assert.deepEqual(read, payload);
});

for (
  const [name, mangle] of [
    ["a tampered record", async (records: Uint8Array[], out: Conn) => {
      records[1][40] ^= 1;
      for (const r of records) await out.write(r);
    }],
    ["a replayed record", async (records: Uint8Array[], out: Conn) => {
      for (const r of [records[0], records[1], records[1], ...records.slice(2)]) await out.write(r);
    }],
    ["reordered records", async (records: Uint8Array[], out: Conn) => {
      for (const r of [records[0], records[2], records[1], ...records.slice(3)]) await out.write(r);
    }],
    ["a dropped record", async (records: Uint8Array[], out: Conn) => {
      for (const r of [records[0], ...records.slice(2)]) await out.write(r);
    }],
    ["a record cut short at EOF", async (records: Uint8Array[], out: Conn) => {
      await out.write(records[0]);
      await out.write(records[1].subarray(0, 1000));
    }],
    ["a stream cut between records, without its EOF record", async (records: Uint8Array[], out: Conn) => {
      await out.write(records[0]);
    }],
    ["a record too short for its tag", async (records: Uint8Array[], out: Conn) => {
      await out.write(records[0]);
      await out.write(Uint8Array.of(0, 3, 1, 2, 3));
    }],
  ] as const
) {
  Deno.test(`${name} is a ProtocolError for the reader, and the conn closes`, async () => {
    const { read, error, responder } = await throughRelay(mangle, payload);
    assert.ok(error instanceof ProtocolError, `expected ProtocolError, got ${error}`);
    // Whatever came before the bad record is the true prefix.
    assert.deepEqual(read, payload.subarray(0, read.length));
    assert.ok(read.length < payload.length);
    await assert.rejects(responder.write(text("x")), ConnClosedError);
    await responder.closed;
  });
}

Deno.test("half-close: an empty record ends the stream one way, the other way keeps working", async () => {
  const [a, b] = await handshakePair({});
  await a.write(text("question"));
  await a.closeWrite();
  assert.deepEqual(await readAll(b), text("question"));
  await b.write(text("answer"));
  assert.deepEqual(await readExactly(a, 6), text("answer"));
  await b.closeWrite();
  assert.equal(await a.read(new Uint8Array(1)), null);
  // Both sides sent and got their EOF: the conns close the pipe themselves.
  await Promise.all([a.closed, b.closed]);
  await closeAll(a, b);
});

for (const cipher of ["AESGCM", "ChaChaPoly"] as const) {
  Deno.test(`${cipher}: 8 MiB each way at once arrive intact`, async () => {
    const [a, b] = await handshakePair({ cipher });
    const size = 8 * MiB;
    const [ab, ba] = [randomBytes(size), randomBytes(size)];
    const send = async (conn: Conn, data: Uint8Array) => {
      for (let at = 0; at < data.length; at += 100_000) await conn.write(data.subarray(at, at + 100_000));
      await conn.closeWrite();
    };
    const [, , atB, atA] = await Promise.all([send(a, ab), send(b, ba), readAll(b), readAll(a)]);
    assert.equal(atB.length, size);
    assert.ok(atB.every((x, i) => x === ab[i]), "a to b corrupted");
    assert.ok(atA.every((x, i) => x === ba[i]), "b to a corrupted");
    await Promise.all([a.closed, b.closed]);
  });
}

Deno.test("a cipher state refuses the reserved nonce 2^64-1 with NonceExhaustedError", async () => {
  const state = new CipherState(AESGCM);
  await state.initializeKey(new Uint8Array(32));
  state.setNonce(MAX_NONCE - 1n);
  const last = await state.encryptWithAd(new Uint8Array(0), text("last"));
  assert.equal(state.nonce, MAX_NONCE);
  await assert.rejects(state.encryptWithAd(new Uint8Array(0), text("one more")), NonceExhaustedError);
  await assert.rejects(state.decryptWithAd(new Uint8Array(0), last), NonceExhaustedError);
  assert.throws(() => state.setNonce(MAX_NONCE + 1n), RangeError);
});

/** Both handshakes over a fresh pipe, each side's own options object given `hooks`. */
function hookedPair(initiator: TestHooks, responder: TestHooks): Promise<[SecureConn, SecureConn]> {
  const [x, y] = pipe();
  return Promise.all([
    secure(x, setTestHooks({ role: "initiator" }, initiator)),
    secure(y, setTestHooks({ role: "responder" }, responder)),
  ]);
}

Deno.test("a secure conn at the end of its nonces sends its last records, then writes fail", async () => {
  const nonce = MAX_NONCE - 2n;
  const [a, b] = await hookedPair({ nonce }, { nonce });
  await a.write(text("x"));
  assert.deepEqual(await readExactly(b, 1), text("x"));
  await a.write(text("y"));
  assert.deepEqual(await readExactly(b, 1), text("y"));
  // Nonce 2^64-1 is reserved: the next record cannot be sealed.
  let err: unknown = null;
  for (let i = 0; i < 100 && err === null; i++) {
    err = await a.write(text("z")).then(() => null, (e) => e);
    if (err === null) await new Promise((r) => setTimeout(r, 5));
  }
  assert.ok(err instanceof NonceExhaustedError, `expected NonceExhaustedError, got ${err}`);
  a.close();
  // Without its EOF record the peer sees the stream cut off.
  await assert.rejects(b.read(new Uint8Array(1)), ProtocolError);
  await closeAll(a, b);
});

Deno.test("fixed ephemeral keys come only through setTestHooks, for that very options object", async () => {
  const e1 = await importKeyPair(new Uint8Array(32).fill(1));
  const e2 = await importKeyPair(new Uint8Array(32).fill(2));
  const hash = async ([a, b]: [SecureConn, SecureConn]) => {
    await closeAll(a, b);
    return a.handshakeHash;
  };
  const fixed1 = await hash(await hookedPair({ ephemeral: e1 }, { ephemeral: e2 }));
  const fixed2 = await hash(await hookedPair({ ephemeral: e1 }, { ephemeral: e2 }));
  assert.deepEqual(fixed1, fixed2, "the same fixed keys give the same session");
  // A copy of a hooked options object, or a Proxy in front of one, is another
  // object: fresh keys, a different session each time.
  const twice = async (wrap: (options: SecureOptions) => SecureOptions) => {
    const hashes = [];
    for (let n = 0; n < 2; n++) {
      const [x, y] = pipe();
      const i = setTestHooks<SecureOptions>({ role: "initiator" }, { ephemeral: e1 });
      const r = setTestHooks<SecureOptions>({ role: "responder" }, { ephemeral: e2 });
      hashes.push(await hash(await Promise.all([secure(x, wrap(i)), secure(y, wrap(r))])));
    }
    assert.notDeepEqual(hashes[0], hashes[1]);
  };
  await twice((options) => ({ ...options }));
  await twice((options) => new Proxy(options, {}));
  assert.ok(!Object.values(cryptoMod).includes(setTestHooks as never), "the hook setter is not exported");
});

Deno.test("secure() reads nothing from its options but the documented options", async () => {
  const documented = new Set([
    "role",
    "pattern",
    "psk",
    "staticKeyPair",
    "remoteStaticKey",
    "prologue",
    "verifyRemote",
    "cipher",
    "hash",
    "bufferSize",
    "closeTimeout",
    "signal",
  ]);
  const touched: PropertyKey[] = [];
  const spy = (options: SecureOptions) =>
    new Proxy(options, {
      get: (target, key) => (touched.push(key), Reflect.get(target, key)),
      has: (target, key) => (touched.push(key), Reflect.has(target, key)),
      ownKeys: (target) => (touched.push("(ownKeys)"), Reflect.ownKeys(target)),
      getOwnPropertyDescriptor: (
        target,
        key,
      ) => (touched.push(key), Reflect.getOwnPropertyDescriptor(target, key)),
    });
  const k = await keys();
  const [x, y] = pipe();
  const [a, b] = await Promise.all([
    secure(x, spy({ role: "initiator", pattern: "XX", staticKeyPair: k.i, verifyRemote: () => true })),
    secure(y, spy({ role: "responder", pattern: "XX", staticKeyPair: k.r, verifyRemote: () => true })),
  ]);
  await closeAll(a, b);
  assert.ok(touched.length > 0);
  const unexpected = touched.filter((key) => typeof key !== "string" || !documented.has(key));
  assert.deepEqual(unexpected.map(String), [], "no symbol or undocumented key is read from the options");
});

Deno.test("this runtime has ChaCha20-Poly1305", async () => {
  assert.equal(await cryptoMod.hasChaChaPoly(), true);
});

Deno.test("close() gives up on a peer that never reads after closeTimeout and closes the conn underneath", async () => {
  const [a, b] = pipe({ bufferSize: 1024 });
  const [client, server] = await Promise.all([
    secure(a, { role: "initiator", closeTimeout: 50 }),
    secure(b, { role: "responder" }),
  ]);
  // Fill every buffer on the way: nobody reads on the server side.
  const chunk = new Uint8Array(16 * 1024);
  while (await client.write(chunk, { signal: AbortSignal.timeout(100) }).then(() => true, () => false));
  client.close();
  await client.closed; // settles only once the conn underneath is closed
  await assert.rejects(a.write(new Uint8Array(1)), ConnClosedError);
  server.close();
  await server.closed;
});

Deno.test("a bad closeTimeout is a TypeError", async () => {
  const [a, b] = pipe();
  await assert.rejects(secure(a, { role: "initiator", closeTimeout: -1 }), TypeError);
  await assert.rejects(
    secure(a, { role: "initiator", closeTimeout: "soon" as unknown as number }),
    TypeError,
  );
  a.close();
  b.close();
});
