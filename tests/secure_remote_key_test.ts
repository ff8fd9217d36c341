/**
 * Whose static key a secure conn is bound to: `remoteStaticKey` only where
 * the pattern pre-shares the peer's key, `verifyRemote` asked exactly about
 * the key the peer sends, and what "proven" means at each point.
 */

import assert from "node:assert/strict";
import { HandshakeError, pipe } from "../mod.ts";
import {
  generateKeyPair,
  type KeyPair,
  type PatternName,
  secure,
  type SecureOptions,
} from "../crypto/mod.ts";
import { AESGCM } from "../crypto/cipher.ts";
import { HandshakeState } from "../crypto/handshake.ts";
import { SHA256 } from "../crypto/hash.ts";
import { BASE_PATTERN_NAMES, parsePattern, staticKeyUse } from "../crypto/patterns.ts";
import { bothSides, closeAll, readExactly } from "./crypto_helpers.ts";

const sameKey = (x: Uint8Array) => (y: Uint8Array) => x.length === y.length && x.every((v, i) => v === y[i]);

/** A key pair that claims `claimed`'s public key but holds `holder`'s private key. */
function impostor(claimed: KeyPair, holder: KeyPair): KeyPair {
  return { publicKey: claimed.publicKey, privateKey: holder.privateKey };
}

Deno.test("remoteStaticKey where the peer sends its own key (XX, IX, NX...) is a TypeError", async () => {
  const [mine, theirs] = await Promise.all([generateKeyPair(), generateKeyPair()]);
  const cases: [PatternName, SecureOptions["role"]][] = [
    ["XX", "initiator"],
    ["XX", "responder"],
    ["IX", "initiator"],
    ["IX", "responder"],
    ["NX", "initiator"],
    ["IK", "responder"],
    ["XK", "responder"],
    ["XXpsk3", "initiator"],
    ["NN", "initiator"],
  ];
  // An aborted signal: the options are checked first, so nothing waits on a peer.
  const signal = AbortSignal.abort(new Error("not reached"));
  for (const [pattern, role] of cases) {
    const [a, b] = pipe();
    const err = await secure(a, {
      role,
      pattern,
      staticKeyPair: mine,
      remoteStaticKey: theirs.publicKey,
      psk: pattern.includes("psk") ? new Uint8Array(32) : undefined,
      signal,
    }).catch((e) => e);
    assert.ok(err instanceof TypeError, `${pattern} ${role}: expected TypeError, got ${err}`);
    assert.match(err.message, /remoteStaticKey/);
    // Bad options leave the conn alone.
    await a.write(new Uint8Array([1]));
    assert.deepEqual(await readExactly(b, 1), new Uint8Array([1]));
    await closeAll(a, b);
  }
});

Deno.test("an XX initiator that knows the server's key cannot be handed an impostor's", async () => {
  const [client, server, other] = await Promise.all([
    generateKeyPair(),
    generateKeyPair(),
    generateKeyPair(),
  ]);
  const asked: Uint8Array[] = [];
  const verifyRemote = (key: Uint8Array) => (asked.push(key), sameKey(server.publicKey)(key));
  const impersonated = { pattern: "XX", staticKeyPair: other, verifyRemote: () => true } as const;
  // Giving the expected key as remoteStaticKey once switched the check off; now it is refused.
  const [given] = await bothSides(
    { pattern: "XX", staticKeyPair: client, remoteStaticKey: server.publicKey, verifyRemote },
    { ...impersonated, signal: AbortSignal.abort() },
  );
  assert.ok(given.status === "rejected" && given.reason instanceof TypeError, `${given.status}`);
  assert.deepEqual(asked, []);
  // The way to pin it: verifyRemote, asked about the key the peer sent.
  const [i, r] = await bothSides({ pattern: "XX", staticKeyPair: client, verifyRemote }, impersonated);
  assert.ok(i.status === "rejected" && i.reason instanceof HandshakeError, `${i.status}`);
  assert.equal(r.status, "rejected");
  assert.deepEqual(asked, [other.publicKey]);
});

Deno.test("verifyRemote is asked exactly once, about the key the peer sent", async () => {
  const [ki, kr] = await Promise.all([generateKeyPair(), generateKeyPair()]);
  const cases: [PatternName, Partial<SecureOptions>, Partial<SecureOptions>][] = [
    ["XX", {}, {}],
    ["IX", {}, {}],
    ["NX", {}, { verifyRemote: undefined }],
    ["XN", { verifyRemote: undefined }, {}],
    ["IK", { remoteStaticKey: kr.publicKey, verifyRemote: undefined }, {}],
    ["XX1", {}, {}],
  ];
  for (const [pattern, i, r] of cases) {
    const asked: { i: Uint8Array[]; r: Uint8Array[] } = { i: [], r: [] };
    const sides = await bothSides(
      { pattern, staticKeyPair: ki, verifyRemote: (key) => (asked.i.push(key), true), ...i },
      { pattern, staticKeyPair: kr, verifyRemote: (key) => (asked.r.push(key), true), ...r },
    );
    for (const side of sides) assert.equal(side.status, "fulfilled", `${pattern}`);
    const use = (initiator: boolean) => staticKeyUse(parsePattern(pattern), initiator).remoteSent;
    assert.deepEqual(asked.i, use(true) ? [kr.publicKey] : [], `${pattern} initiator`);
    assert.deepEqual(asked.r, use(false) ? [ki.publicKey] : [], `${pattern} responder`);
  }
});

Deno.test("verifyRemote where the peer's key is only ever given beforehand (KK, IK initiator) is a TypeError", async () => {
  const [ki, kr] = await Promise.all([generateKeyPair(), generateKeyPair()]);
  const signal = AbortSignal.abort(new Error("not reached"));
  for (const [pattern, role] of [["KK", "initiator"], ["KK", "responder"], ["IK", "initiator"]] as const) {
    const [a, b] = pipe();
    const err = await secure(a, {
      role,
      pattern,
      staticKeyPair: role === "initiator" ? ki : kr,
      remoteStaticKey: role === "initiator" ? kr.publicKey : ki.publicKey,
      verifyRemote: () => true,
      signal,
    }).catch((e) => e);
    assert.ok(err instanceof TypeError, `${pattern} ${role}: expected TypeError, got ${err}`);
    assert.match(err.message, /verifyRemote/);
    await closeAll(a, b);
  }
});

Deno.test("a handshake message carrying a static key when one is already known is a HandshakeError", async () => {
  const [ki, kr, stranger] = await Promise.all([generateKeyPair(), generateKeyPair(), generateKeyPair()]);
  const init = { pattern: parsePattern("XX"), cipher: AESGCM, hash: SHA256 };
  // Noise rev 34 §5.3: rs must be empty when an "s" token is read; a key set
  // beforehand must never be replaced by one nobody checks.
  const initiator = await HandshakeState.initialize({
    ...init,
    initiator: true,
    s: ki,
    rs: stranger.publicKey,
  });
  const responder = await HandshakeState.initialize({ ...init, initiator: false, s: kr });
  await responder.readMessage(await initiator.writeMessage(new Uint8Array(0)));
  const second = await responder.writeMessage(new Uint8Array(0));
  await assert.rejects(initiator.readMessage(second), HandshakeError);
  assert.deepEqual(initiator.remoteStaticKey, stranger.publicKey, "the known key is kept");
});

Deno.test("XX: a peer sending a public key it does not hold fails before verifyRemote is asked", async () => {
  const [client, victim, thief] = await Promise.all([
    generateKeyPair(),
    generateKeyPair(),
    generateKeyPair(),
  ]);
  let asked = 0;
  const [i, r] = await bothSides(
    { pattern: "XX", staticKeyPair: client, verifyRemote: () => (asked++, true) },
    { pattern: "XX", staticKeyPair: impostor(victim, thief), verifyRemote: () => true },
  );
  // The DH with the claimed key is in the message that carries it: proven on reading.
  assert.ok(i.status === "rejected" && i.reason instanceof HandshakeError, `${i.status}`);
  assert.ok(r.status === "rejected" && r.reason instanceof HandshakeError, `${r.status}`);
  assert.equal(asked, 0);
});

Deno.test("IX responder: a key claimed without its private key passes verifyRemote, but no byte of that peer is read", async () => {
  const [server, victim, thief] = await Promise.all([
    generateKeyPair(),
    generateKeyPair(),
    generateKeyPair(),
  ]);
  const asked: Uint8Array[] = [];
  const [a, b] = pipe();
  const [i, r] = await Promise.allSettled([
    secure(a, { role: "initiator", pattern: "IX", staticKeyPair: impostor(victim, thief) }),
    secure(b, {
      role: "responder",
      pattern: "IX",
      staticKeyPair: server,
      verifyRemote: (key) => (asked.push(key), sameKey(victim.publicKey)(key)),
    }),
  ]);
  // Message 1 carries the key with no DH yet: verifyRemote sees it claimed, not proven.
  assert.deepEqual(asked, [victim.publicKey]);
  assert.equal(r.status, "fulfilled");
  const conn = r.value;
  assert.deepEqual(conn.remoteStaticKey, victim.publicKey);
  // The reply mixes a DH with the claimed key: the thief cannot read it, and sends no record.
  assert.ok(i.status === "rejected" && i.reason instanceof HandshakeError, `${i.status}`);
  // A tether thief says it could not authenticate the reply; whatever it sends, no byte of it is read.
  const err = await conn.read(new Uint8Array(1)).catch((e) => e);
  assert.ok(
    err instanceof HandshakeError && /could not authenticate/.test(err.message),
    `expected the thief's refusal, got ${err}`,
  );
  await closeAll(conn);
});

Deno.test("every two-way pattern mixes a DH with each static key a side learns before its handshake ends", () => {
  // What makes the first record prove a key that the handshake only claimed.
  for (const name of BASE_PATTERN_NAMES) {
    const pattern = parsePattern(name);
    if (pattern.oneWay) continue;
    for (const initiator of [true, false]) {
      const use = staticKeyUse(pattern, initiator);
      if (!use.remoteBeforehand && !use.remoteSent) continue;
      // The peer's static key with any key of ours: es or ss for the initiator, se or ss for the responder.
      const withRemoteStatic = initiator ? ["es", "ss"] : ["se", "ss"];
      const tokens = pattern.messages.flatMap((m, i) =>
        m.map((token) => ({ token, byPeer: (i % 2 === 0) !== initiator }))
      );
      const learned = use.remoteBeforehand ? -1 : tokens.findIndex((t) => t.byPeer && t.token === "s");
      const mixed = tokens.findIndex((t, at) => at > learned && withRemoteStatic.includes(t.token));
      assert.ok(
        mixed >= 0,
        `${name} ${initiator ? "initiator" : "responder"}: the peer's key is never mixed`,
      );
    }
  }
});
