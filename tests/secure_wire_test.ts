/**
 * The handshake's wire: length-prefixed frames, and a message's head (its
 * ephemeral key) sent and read ahead of the DH behind it.
 */
import assert from "node:assert/strict";
import { HandshakeError, pipe, ProtocolError } from "../mod.ts";
import { secure } from "../crypto/mod.ts";
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
