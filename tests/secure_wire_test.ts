/**
 * The handshake's wire: length-prefixed frames, and a message's head (its
 * ephemeral key) sent and read ahead of the DH behind it.
 */
import assert from "node:assert/strict";
import { ConnError, HandshakeError, listen, pipe, ProtocolError } from "../mod.ts";
import { generateKeyPair, secure, secureListener } from "../crypto/mod.ts";
import { cipherFunctions } from "../crypto/cipher.ts";
import { HandshakeState } from "../crypto/handshake.ts";
import { SHA256 } from "../crypto/hash.ts";
import { parsePattern } from "../crypto/patterns.ts";
import { encodeFrame, FrameReader } from "../crypto/wire.ts";

const bytes = (...b: number[]) => Uint8Array.from(b);

Deno.test("encodeFrame can announce a longer body than it carries, for a frame written in parts", () => {
  assert.deepEqual(encodeFrame(bytes(1, 2), bytes(9), 5), bytes(9, 0, 5, 1, 2));
  assert.deepEqual(encodeFrame(bytes(1, 2)), bytes(0, 2, 1, 2));
  assert.throws(() => encodeFrame(bytes(1), undefined, 0x10000), RangeError);
  assert.throws(() => encodeFrame(bytes(1, 2, 3), undefined, 2), RangeError);
});

Deno.test("a frame reader hands over a frame's head as soon as it is here, before the rest comes", async () => {
  const [a, b] = pipe();
  const reader = new FrameReader(b);
  const seen: number[][] = [];
  const reading = reader.next({ head: { length: 2, read: (head) => void seen.push([...head]) } });
  await a.write(encodeFrame(bytes(1, 2), undefined, 4));
  // The head is read while the rest has not been written yet.
  for (let i = 0; i < 400 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(seen, [[1, 2]]);
  await a.write(bytes(3, 4));
  assert.deepEqual(await reading, bytes(1, 2, 3, 4));
  // A body shorter than the head is read whole, the head skipped; a buffered whole frame still gets its head read.
  await a.write(Uint8Array.of(...encodeFrame(bytes(7)), ...encodeFrame(bytes(5, 6, 7))));
  assert.deepEqual(
    await reader.next({ head: { length: 2, read: () => assert.fail("no head in 1 byte") } }),
    bytes(7),
  );
  assert.deepEqual(
    await reader.next({ head: { length: 2, read: (head) => void seen.push([...head]) } }),
    bytes(5, 6, 7),
  );
  assert.deepEqual(seen, [[1, 2], [5, 6]]);
  a.close();
  b.close();
});

Deno.test("a head's reader that throws ends the read with its error; EOF inside a head is a truncation", async () => {
  const [a, b] = pipe();
  await a.write(encodeFrame(bytes(1, 2, 3)));
  const refused = new Error("bad head");
  await assert.rejects(
    new FrameReader(b).next({ head: { length: 2, read: () => Promise.reject(refused) } }),
    (err) => err === refused,
  );
  const [c, d] = pipe();
  await c.write(Uint8Array.of(0, 40, 1));
  await c.closeWrite();
  await assert.rejects(
    new FrameReader(d).next({ head: { length: 32, read: () => assert.fail("never complete") } }),
    ProtocolError,
  );
  for (const conn of [a, b, c, d]) conn.close();
});

Deno.test("a responder that sends its ephemeral key then vanishes fails the initiator's handshake", async () => {
  const [mine, theirs] = pipe();
  const dialing = secure(mine, { role: "initiator", pattern: "NN", cipher: "ChaChaPoly" }).catch((e) => e);
  const peer = await HandshakeState.initialize({
    pattern: parsePattern("NN"),
    initiator: false,
    cipher: await cipherFunctions("ChaChaPoly"),
    hash: SHA256,
  });
  const reader = new FrameReader(theirs);
  await peer.readMessage((await reader.next())!.slice());
  const length = peer.messageLength(0);
  await peer.writeMessage(
    new Uint8Array(0),
    (head) => void theirs.write(encodeFrame(head, undefined, length)),
  );
  theirs.close(); // the rest never comes
  const err = await dialing;
  assert.ok(err instanceof HandshakeError, String(err));
  assert.match(err.message, /truncated|ended/);
});

Deno.test("a responder whose ephemeral key is a low-order point is refused at the head", async () => {
  const [mine, theirs] = pipe();
  const dialing = secure(mine, { role: "initiator", pattern: "NN", cipher: "ChaChaPoly" }).catch((e) => e);
  const reader = new FrameReader(theirs);
  await reader.next();
  // A whole message's length, but a zero key at its head: the initiator's DH refuses it.
  await theirs.write(encodeFrame(new Uint8Array(32), undefined, 48));
  const err = await dialing;
  assert.ok(err instanceof HandshakeError, String(err));
  // It told the peer why (a one-byte refusal frame) before closing.
  assert.deepEqual(await reader.next(), bytes(2));
  theirs.close();
});

Deno.test("a handshake closed while its key and its rest are both being written rejects once, nothing unhandled", async () => {
  // A peer that never reads, and a window too small for the message: the
  // key's write and the rest's are both pending when the signal closes the
  // conn, and both fail. (An unhandled rejection would fail this test.)
  const server = await generateKeyPair();
  const [a, b] = pipe({ bufferSize: 8 });
  const aborting = new AbortController();
  const dialing = secure(a, {
    role: "initiator",
    pattern: "NK", // its first message: e, es
    remoteStaticKey: server.publicKey,
    signal: aborting.signal,
  }).catch((e) => e);
  await new Promise((r) => setTimeout(r, 50));
  aborting.abort(new Error("stop"));
  const err = await dialing;
  assert.ok(err instanceof ConnError, String(err));
  await new Promise((r) => setTimeout(r, 50)); // a stray rejection would surface here
  b.close();
});

Deno.test("a secure listener whose client stalls with the server's answer half written keeps serving", async () => {
  const inner = listen({ transport: "memory", bufferSize: 16 });
  const errors: Error[] = [];
  const listener = secureListener(inner, { handshakeTimeout: 300, onError: (e) => errors.push(e) });
  const serving = (async () => {
    for await (const conn of listener) conn.close();
  })();
  // A plausible NN first message, then no reading: the server's answer (key first) stalls.
  const stalling = await inner.dialer().dial();
  const first = new Uint8Array(34);
  first[1] = 32;
  crypto.getRandomValues(first.subarray(2));
  await stalling.write(first);
  for (let waited = 0; errors.length === 0 && waited < 10_000; waited += 20) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(errors[0] instanceof ConnError, String(errors[0]));
  // The listener still handshakes a good client.
  const good = await secure(await inner.dialer().dial(), { role: "initiator" });
  good.close();
  stalling.close();
  listener.close();
  await serving;
});
