/**
 * What a peer learns when the other side gives up on the handshake, and a
 * peer that keeps sending after its end-of-stream record.
 */

import assert from "node:assert/strict";
import { type Conn, ConnClosedError, HandshakeError, listen, pipe, ProtocolError } from "../mod.ts";
import { generateKeyPair, secure } from "../crypto/mod.ts";
import { AESGCM } from "../crypto/cipher.ts";
import { HandshakeState } from "../crypto/handshake.ts";
import { SHA256 } from "../crypto/hash.ts";
import { parsePattern } from "../crypto/patterns.ts";
import { encodeFrame, FrameReader } from "../crypto/wire.ts";
import { readExactly } from "./crypto_helpers.ts";

const text = (s: string) => new TextEncoder().encode(s);

Deno.test("IK: a client whose key the server refuses is told its key was refused", async () => {
  const [server, client] = await Promise.all([generateKeyPair(), generateKeyPair()]);
  const [a, b] = pipe();
  const [dialing, serving] = await Promise.allSettled([
    secure(a, { role: "initiator", pattern: "IK", staticKeyPair: client, remoteStaticKey: server.publicKey }),
    secure(b, { role: "responder", pattern: "IK", staticKeyPair: server, verifyRemote: () => false }),
  ]);
  assert.ok(serving.status === "rejected" && serving.reason instanceof HandshakeError);
  assert.match(serving.reason.message, /verifyRemote refused the peer's static key/);
  assert.ok(dialing.status === "rejected" && dialing.reason instanceof HandshakeError, String(dialing));
  assert.match(
    dialing.reason.message,
    /^handshake memory:pipe: handshake failed \(the peer refused this side's static key/,
  );
});

Deno.test("NNpsk0: a client with the wrong PSK is told the server could not authenticate it", async () => {
  const [a, b] = pipe();
  const psk = crypto.getRandomValues(new Uint8Array(32));
  const [dialing, serving] = await Promise.allSettled([
    secure(a, { role: "initiator", pattern: "NNpsk0", psk: new Uint8Array(32) }),
    secure(b, { role: "responder", pattern: "NNpsk0", psk }),
  ]);
  assert.ok(serving.status === "rejected" && serving.reason instanceof HandshakeError);
  assert.ok(dialing.status === "rejected" && dialing.reason instanceof HandshakeError);
  assert.match(dialing.reason.message, /could not authenticate this side's handshake message/);
});

Deno.test("NN against NNpsk0: the initiator is told the two sides' patterns differ, over a pipe, Unix and TCP", async () => {
  const psk = crypto.getRandomValues(new Uint8Array(32));
  const dir = await Deno.makeTempDir();
  try {
    const unix = await listen({ transport: "unix", path: `${dir}/s.sock` });
    const tcp = await listen({ transport: "tcp", hostname: "127.0.0.1", port: 0 });
    const pairs: [string, () => Promise<[Conn, Conn]>][] = [
      ["pipe", () => Promise.resolve(pipe())],
      ["unix", () => Promise.all([unix.dialer().dial(), unix.accept()])],
      ["tcp", () => Promise.all([tcp.dialer().dial(), tcp.accept()])],
    ];
    for (const [kind, makePair] of pairs) {
      const [a, b] = await makePair();
      const [dialing, serving] = await Promise.allSettled([
        secure(a, { role: "initiator", pattern: "NN" }),
        secure(b, { role: "responder", pattern: "NNpsk0", psk }),
      ]);
      assert.ok(serving.status === "rejected" && serving.reason instanceof HandshakeError, kind);
      assert.match(
        serving.reason.message,
        /expected a 48-byte NNpsk0 handshake message, the peer announced 32/,
      );
      assert.ok(
        dialing.status === "rejected" && dialing.reason instanceof HandshakeError,
        `${kind}: ${dialing}`,
      );
      assert.match(
        dialing.reason.message,
        /could not read this side's handshake message: .*different patterns/,
      );
    }
    unix.close();
    tcp.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("XX: when the responder refuses the key after the initiator finished, the initiator's first read says so", async () => {
  const [server, client] = await Promise.all([generateKeyPair(), generateKeyPair()]);
  const [a, b] = pipe();
  const [dialing, serving] = await Promise.allSettled([
    secure(a, { role: "initiator", pattern: "XX", staticKeyPair: client }),
    secure(b, { role: "responder", pattern: "XX", staticKeyPair: server, verifyRemote: () => false }),
  ]);
  assert.ok(serving.status === "rejected" && serving.reason instanceof HandshakeError);
  // The initiator's handshake ended with its own last message: it learns of the refusal on reading.
  assert.equal(dialing.status, "fulfilled");
  const conn = (dialing as PromiseFulfilledResult<Awaited<ReturnType<typeof secure>>>).value;
  const err = await conn.read(new Uint8Array(1)).catch((e) => e);
  assert.ok(err instanceof HandshakeError, String(err));
  assert.match(err.message, /the peer refused this side's static key/);
  conn.close();
  await conn.closed;
});

Deno.test("a record after the peer's end-of-stream record is a ProtocolError, and this side still ends cleanly", async () => {
  // A hand-built peer, to send what a tether peer never would.
  const [mine, theirs] = pipe();
  const serving = secure(mine, { role: "responder" });
  const init = { pattern: parsePattern("NN"), cipher: AESGCM, hash: SHA256 };
  const peer = await HandshakeState.initialize({ ...init, initiator: true });
  const reader = new FrameReader(theirs);
  await theirs.write(encodeFrame(await peer.writeMessage(new Uint8Array(0))));
  await peer.readMessage((await reader.next())!.slice());
  const { send, receive } = await peer.split();
  const record = async (plaintext: Uint8Array) =>
    await theirs.write(encodeFrame(await send.encryptWithAd(new Uint8Array(0), plaintext)));
  const conn = await serving;
  await conn.write(text("reply"));
  await record(text("hello"));
  await record(new Uint8Array(0)); // end of stream
  await record(text("and more")); // not allowed
  // Bytes before the end of stream are read; the reader sees the end, or the error in its place.
  assert.deepEqual(await readExactly(conn, 5), text("hello"));
  const next = await conn.read(new Uint8Array(8)).catch((e) => e);
  assert.ok(next === null || next instanceof ProtocolError, String(next));
  // The peer gets what was queued, then this side's own end-of-stream record, not a bare EOF.
  const plain: Uint8Array[] = [];
  for (let body; (body = await reader.next()) !== null;) {
    plain.push(await receive.decryptWithAd(new Uint8Array(0), body.slice()));
  }
  assert.deepEqual(plain.map((p) => new TextDecoder().decode(p)), ["reply", ""]);
  // Writing ended as a close does: a later write fails, naming the ProtocolError as the cause.
  const err = await conn.write(text("x")).catch((e) => e);
  assert.ok(err instanceof ConnClosedError && err.cause instanceof ProtocolError, String(err));
  assert.match(String((err.cause as Error).message), /a record after its end-of-stream record/);
  conn.close();
  theirs.close();
  await conn.closed;
});
