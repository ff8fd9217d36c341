// secureListener() and secureDialer(): secure() at both ends of a listener.
import assert from "node:assert/strict";
import { ConnError, dialer, HandshakeError, listen, ListenerClosedError } from "../mod.ts";
import { type SecureConn, secureDialer, secureListener, type SecureListenerOptions } from "../crypto/mod.ts";
import { testListener } from "../testing/mod.ts";
import { inTempDir, spawnReady } from "./socket_helpers.ts";

const psk = crypto.getRandomValues(new Uint8Array(32));
const handshake = { pattern: "NNpsk0", psk } as const;
const encoder = new TextEncoder(), decoder = new TextDecoder();

/** A memory listener wrapped, the dialer that reaches it, and the errors `onError` was told of. */
function fixture(options: Omit<SecureListenerOptions, "onError"> = {}) {
  const inner = listen({ transport: "memory" });
  const errors: Error[] = [];
  let told: (() => void) | null = null;
  const listener = secureListener(inner, {
    ...handshake,
    ...options,
    onError: (err) => {
      errors.push(err);
      told?.();
    },
  });
  /** Resolves once `onError` has been told of `n` errors in all. */
  const errorsReach = async (n: number) => {
    while (errors.length < n) await new Promise<void>((resolve) => told = resolve);
  };
  return { inner, listener, dial: secureDialer(inner.dialer(), handshake), errors, errorsReach };
}

async function echoOnce(client: SecureConn, server: SecureConn, text: string): Promise<void> {
  await client.write(encoder.encode(text));
  const buf = new Uint8Array(text.length);
  let got = 0;
  while (got < buf.length) got += (await server.read(buf.subarray(got)))!;
  assert.equal(decoder.decode(buf), text);
}

Deno.test("secure listeners keep the Listener contract, over memory and over Unix sockets", async (t) => {
  await t.step("memory", async (t) => {
    await testListener(t, () => {
      const inner = listen({ transport: "memory" });
      return { listener: secureListener(inner, handshake), dialer: secureDialer(inner.dialer(), handshake) };
    });
  });
  await t.step("unix", async (t) => {
    await inTempDir(async (dir) => {
      let n = 0;
      await testListener(t, async () => {
        const path = `${dir}/s${++n}.sock`;
        const inner = await listen({ transport: "unix", path });
        return {
          listener: secureListener(inner, handshake),
          dialer: secureDialer(dialer({ transport: "unix", path }), handshake),
        };
      });
    });
  });
});

Deno.test("a peer that says nothing is dropped after handshakeTimeout and holds up no one", async () => {
  const { inner, listener, dial, errors, errorsReach } = fixture({ handshakeTimeout: 300 });
  await using _listener = listener;
  const silent = await inner.dialer().dial(); // connects, never handshakes
  const client = await dial.dial({ signal: AbortSignal.timeout(10_000) });
  const server = await listener.accept({ signal: AbortSignal.timeout(10_000) });
  await echoOnce(client, server, "served while the silent peer waits");
  await errorsReach(1);
  const [err] = errors;
  assert.ok(err instanceof ConnError && err.code === "ETIMEDOUT" && err.timeout, `told: ${err}`);
  assert.match(err.message, /handshake.*within 300 ms/);
  assert.equal(await silent.read(new Uint8Array(1)), null, "the silent peer's conn was closed");
  silent.close();
  client.close();
  server.close();
});

Deno.test("a peer that sends garbage, or the wrong key, fails alone with a typed error", async () => {
  const { inner, listener, dial, errors, errorsReach } = fixture();
  await using _listener = listener;

  const garbage = await inner.dialer().dial();
  await garbage.write(crypto.getRandomValues(new Uint8Array(200)));
  await errorsReach(1);
  assert.ok(errors[0] instanceof ConnError, `told: ${errors[0]}`);
  garbage.close();

  const wrongKey = secureDialer(inner.dialer(), { ...handshake, psk: new Uint8Array(32).fill(9) });
  await assert.rejects(wrongKey.dial({ signal: AbortSignal.timeout(10_000) }), HandshakeError);
  await errorsReach(2);
  assert.ok(errors[1] instanceof HandshakeError, `told: ${errors[1]}`);

  const client = await dial.dial({ signal: AbortSignal.timeout(10_000) });
  const server = await listener.accept({ signal: AbortSignal.timeout(10_000) });
  await echoOnce(client, server, "the listener carries on");
  assert.equal(errors.length, 2);
  client.close();
  server.close();
});

Deno.test("at most backlog conns are in hand: further connects wait until one is accepted", async () => {
  const { listener, dial } = fixture({ backlog: 2 });
  await using _listener = listener;
  const first = await Promise.all([dial.dial(), dial.dial()]);
  let thirdDone = false;
  const third = dial.dial().then((conn) => (thirdDone = true, conn));
  // The third connect reached the inner listener, but the secure one takes no third conn while two wait.
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(thirdDone, false, "a third handshake ran with two conns unaccepted");
  const accepted = [await listener.accept()];
  const client = await third;
  accepted.push(await listener.accept(), await listener.accept());
  for (const [i, c] of [...first, client].entries()) c.close(), accepted[i].close();
});

Deno.test("close() stops handshakes in flight and closes conns not accepted, telling onError nothing", async () => {
  const { inner, listener, dial, errors } = fixture();
  const silent = await inner.dialer().dial();
  const handshaken = await dial.dial();
  const pending = listener.accept().then((conn) => conn.close()); // takes the handshaken conn
  await pending;
  const unaccepted = await dial.dial();
  listener.close();
  await assert.rejects(listener.accept(), ListenerClosedError);
  assert.equal(await silent.read(new Uint8Array(1)), null, "the half-done handshake's conn was closed");
  assert.equal(await unaccepted.read(new Uint8Array(1)), null, "the unaccepted conn was closed");
  await assert.rejects(inner.accept(), ListenerClosedError, "the inner listener was closed too");
  assert.deepEqual(errors, []);
  for (const conn of [silent, handshaken, unaccepted]) conn.close();
});

Deno.test("closing the inner listener ends the secure one", async () => {
  const { inner, listener } = fixture();
  const iterating = (async () => {
    for await (const _ of listener) throw new Error("nothing connected");
  })();
  inner.close();
  await iterating;
  await assert.rejects(listener.accept(), ListenerClosedError);
});

Deno.test("secureListener() and secureDialer() check their options before anything runs", () => {
  const inner = listen({ transport: "memory" });
  try {
    for (
      const bad of [
        { backlog: 1.5 },
        { onError: "log" },
        { role: "responder" },
        { pattern: "NOPE" },
        { pattern: "NNpsk0" }, // no psk
      ]
    ) {
      assert.throws(
        () => secureListener(inner, bad as SecureListenerOptions),
        TypeError,
        JSON.stringify(bad),
      );
    }
    for (
      const bad of [
        { handshakeTimeout: 0 },
        { handshakeTimeout: 3e9 }, // past what a timer takes: it would fire at once
        { backlog: 0 },
      ]
    ) {
      assert.throws(() => secureListener(inner, bad), RangeError, JSON.stringify(bad));
    }
    assert.throws(() => secureDialer(inner.dialer(), { signal: AbortSignal.timeout(1) } as never), TypeError);
    assert.throws(() => secureDialer({} as never), TypeError);
  } finally {
    inner.close();
  }
});

Deno.test("between two processes: a secureListener serves clients at once while a peer sends garbage", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/echo.sock`;
    const hex = [...psk].map((b) => b.toString(16).padStart(2, "0")).join("");
    const child = await spawnReady(new URL("./fixtures/secure_echo.ts", import.meta.url).pathname, path, hex);
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    try {
      const raw = dialer({ transport: "unix", path });
      const garbage = await raw.dial();
      await garbage.write(crypto.getRandomValues(new Uint8Array(100)));
      const dial = secureDialer(raw, handshake);
      const size = 1024 * 1024;
      await Promise.all(Array.from({ length: 4 }, async (_, i) => {
        const conn = await dial.dial({ signal: AbortSignal.timeout(10_000) });
        const sent = new Uint8Array(size).map((_, k) => (k * (i + 3)) % 251);
        const writing = conn.write(sent).then(() => conn.closeWrite());
        const got = new Uint8Array(size);
        for (let at = 0; at < size;) at += (await conn.read(got.subarray(at)))!;
        await writing;
        assert.deepEqual(got, sent, `client ${i}'s bytes came back`);
        conn.close();
      }));
      assert.match((await lines.read()).value ?? "", /^refused: (ProtocolError|HandshakeError)/);
      // At most the one-frame refusal ("mismatch"), then EOF: the garbage peer was closed.
      let told = 0;
      for (let n; (n = await garbage.read(new Uint8Array(8)).catch(() => null)) !== null;) told += n;
      assert.ok(told <= 3, `read ${told} bytes before EOF`);
      garbage.close();
    } finally {
      child.kill("SIGKILL");
      await child.status;
      await lines.cancel();
    }
  });
});

Deno.test("an onError that throws is ignored: the listener carries on", async () => {
  const inner = listen({ transport: "memory" });
  let told = 0;
  await using listener = secureListener(inner, {
    ...handshake,
    onError: () => {
      told++;
      throw new Error("a bug in the caller's logger");
    },
  });
  const garbage = await inner.dialer().dial();
  await garbage.write(new Uint8Array(100).fill(7));
  const client = await secureDialer(inner.dialer(), handshake).dial({ signal: AbortSignal.timeout(10_000) });
  const server = await listener.accept({ signal: AbortSignal.timeout(10_000) });
  await echoOnce(client, server, "still serving");
  assert.equal(told, 1);
  for (const conn of [garbage, client, server]) conn.close();
});
