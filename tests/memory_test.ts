import assert from "node:assert/strict";
import {
  AddrInUseError,
  BacklogFullError,
  ConnClosedError,
  connect,
  ConnectionRefusedError,
  ConnError,
  DEFAULT_BACKLOG,
  listen,
  ListenerClosedError,
  pipe,
} from "../mod.ts";

const tick = () => new Promise((r) => setTimeout(r, 5));

Deno.test("a second listener on the same name gets AddrInUseError", () => {
  using _first = listen({ transport: "memory", name: "dup" });
  assert.throws(() => listen({ transport: "memory", name: "dup" }), (err: AddrInUseError) => {
    assert.ok(err instanceof AddrInUseError);
    assert.equal(err.code, "EADDRINUSE");
    assert.match(err.message, /memory:dup/);
    return true;
  });
});

Deno.test("connecting to an unknown name gets ConnectionRefusedError", async () => {
  await assert.rejects(connect({ transport: "memory", name: "nobody" }), (err: ConnectionRefusedError) => {
    assert.equal(err.code, "ECONNREFUSED");
    assert.match(err.message, /memory:nobody/);
    return true;
  });
});

Deno.test("more than backlog unaccepted connects get BacklogFullError, which is temporary", async () => {
  using listener = listen({ transport: "memory", name: "busy", backlog: 2 });
  const waiting = [
    await connect({ transport: "memory", name: "busy" }),
    await connect({ transport: "memory", name: "busy" }),
  ];
  await assert.rejects(connect({ transport: "memory", name: "busy" }), (err: BacklogFullError) => {
    assert.ok(err instanceof BacklogFullError);
    assert.equal(err.temporary, true);
    assert.match(
      err.message,
      /memory:busy: backlog full: 2 unaccepted connection\(s\) already wait; try again later/,
    );
    return true;
  });
  for (const _ of waiting) (await listener.accept()).close();
  for (const conn of waiting) conn.close();
  // Accepting made room again.
  using again = await connect({ transport: "memory", name: "busy" });
  using _server = await listener.accept();
  assert.equal(again.remoteAddr.address, "busy");
});

Deno.test("connect, then accept, in sequence: a memory connect completes from the backlog, as a socket's does", async () => {
  using listener = listen({ transport: "memory", name: "in-sequence" });
  // Each await in turn: this hung for ever when a memory connect waited for accept().
  using client = await connect({
    transport: "memory",
    name: "in-sequence",
    signal: AbortSignal.timeout(1000),
  });
  await client.write(new TextEncoder().encode("before accept"));
  using server = await listener.accept({ signal: AbortSignal.timeout(1000) });
  const buf = new Uint8Array(13);
  assert.equal(await server.read(buf), 13);
  assert.equal(new TextDecoder().decode(buf), "before accept");
  // The same through a private listener's dialer.
  using fixture = listen({ transport: "memory" });
  using dialed = await fixture.dialer().dial({ signal: AbortSignal.timeout(1000) });
  using accepted = await fixture.accept({ signal: AbortSignal.timeout(1000) });
  await dialed.write(new Uint8Array([1]));
  assert.equal(await accepted.read(new Uint8Array(1)), 1);
});

Deno.test("writes to a conn still in the backlog fill its window, then wait", async () => {
  using listener = listen({ transport: "memory", name: "window", bufferSize: 4 });
  using client = await connect({ transport: "memory", name: "window" });
  assert.equal(await client.write(new Uint8Array(4)), 4);
  const err = await client.write(new Uint8Array(1), { signal: AbortSignal.timeout(30) }).catch((e) => e);
  assert.equal(err.name, "TimeoutError");
  using server = await listener.accept();
  assert.equal(await server.read(new Uint8Array(8)), 4);
});

Deno.test("the default backlog is 32", async () => {
  using listener = listen({ transport: "memory" });
  const dialer = listener.dialer();
  const waiting = [];
  for (let i = 0; i < DEFAULT_BACKLOG; i++) waiting.push(await dialer.dial());
  await assert.rejects(dialer.dial(), BacklogFullError);
  listener.close();
  for (const conn of waiting) {
    assert.equal(await conn.read(new Uint8Array(1)), null);
    conn.close();
  }
});

Deno.test("accept honours its signal: a ConnError names the accept, its cause the TimeoutError; a later connect goes to the next accept", async () => {
  using listener = listen({ transport: "memory", name: "acc" });
  const err = await listener.accept({ signal: AbortSignal.timeout(20) }).catch((e) => e);
  assert.ok(err instanceof ConnError);
  assert.equal(err.timeout, true);
  assert.equal(err.code, "ETIMEDOUT");
  assert.equal((err.cause as Error).name, "TimeoutError");
  assert.equal(err.message, "accept memory:acc: timed out");
  using _client = await connect({ transport: "memory", name: "acc" });
  using _server = await listener.accept();
});

Deno.test("close rejects pending accepts, frees the name, refuses by name, fails the dialer, keeps accepted conns", async () => {
  const listener = listen({ transport: "memory", name: "closing" });
  const dialer = listener.dialer();
  const client = await connect({ transport: "memory", name: "closing" });
  const server = await listener.accept();
  const pending = listener.accept();
  listener.close();
  listener.close();
  await assert.rejects(pending, ListenerClosedError);
  await assert.rejects(listener.accept(), ListenerClosedError);
  await assert.rejects(connect({ transport: "memory", name: "closing" }), ConnectionRefusedError);
  await assert.rejects(dialer.dial(), ListenerClosedError);
  // The accepted conn still works.
  await client.write(new Uint8Array([1, 2]));
  assert.equal(await server.read(new Uint8Array(2)), 2);
  server.close();
  client.close();
  // The name is free again.
  using again = listen({ transport: "memory", name: "closing" });
  assert.equal(again.addr.address, "closing");
});

Deno.test("a conn still in the backlog when the listener closes sees its peer close", async () => {
  const listener = listen({ transport: "memory", name: "late" });
  using waiting = await connect({ transport: "memory", name: "late" });
  await waiting.write(new Uint8Array([1]));
  listener.close();
  assert.equal(await waiting.read(new Uint8Array(1)), null);
  await assert.rejects(waiting.write(new Uint8Array([2])), ConnClosedError);
});

Deno.test("for await over a listener ends quietly when it closes", async () => {
  const listener = listen({ transport: "memory" });
  const served: number[] = [];
  const serving = (async () => {
    for await (const conn of listener) {
      served.push(1);
      conn.close();
    }
  })();
  const conn = await listener.dialer().dial();
  assert.equal(await conn.read(new Uint8Array(1)), null);
  listener.close();
  await serving;
  assert.deepEqual(served, [1]);
  conn.close();
});

Deno.test("a private listener is reachable only through its dialer", async () => {
  using listener = listen({ transport: "memory" });
  assert.match(listener.addr.address, /^private-\d+$/);
  await assert.rejects(connect({ transport: "memory", name: listener.addr.address }), ConnectionRefusedError);
  const dialing = listener.dialer().dial({ signal: AbortSignal.timeout(1000) });
  using server = await listener.accept();
  using client = await dialing;
  assert.deepEqual(client.remoteAddr, listener.addr);
  assert.deepEqual(server.localAddr, listener.addr);
});

Deno.test("a dial honours an already-aborted signal: a ConnError naming the connect, caused by the reason", async () => {
  using listener = listen({ transport: "memory" });
  const reason = new Error("no");
  const check = (e: ConnError) => e.code === "ECANCELED" && e.cause === reason && e.op === "connect";
  await assert.rejects(listener.dialer().dial({ signal: AbortSignal.abort(reason) }), check);
  await assert.rejects(connect({ transport: "memory", name: "x", signal: AbortSignal.abort(reason) }), check);
});

Deno.test("bad arguments get a clear TypeError or RangeError", async () => {
  assert.throws(() => pipe({ bufferSize: -1 }), RangeError);
  assert.throws(() => pipe({ bufferSize: 0 }), RangeError);
  assert.throws(() => pipe({ bufferSize: "big" as unknown as number }), /bufferSize must be a whole number/);
  assert.throws(() => pipe({ bufferSize: NaN }), TypeError);
  assert.throws(() => pipe(null as unknown as undefined), TypeError);
  assert.throws(() => listen({ transport: "memory", name: 5 as unknown as string }), /name must be a string/);
  assert.throws(() => listen({ transport: "memory", name: "" }), TypeError);
  assert.throws(() => listen({ transport: "memory", backlog: -1 }), RangeError);
  assert.throws(() => listen({ transport: "memory", backlog: "many" as unknown as number }), TypeError);
  assert.throws(
    () => listen({ transport: "bogus" } as unknown as { transport: "memory" }),
    /unknown transport "bogus"/,
  );
  assert.throws(() => listen(undefined as unknown as { transport: "memory" }), TypeError);
  await assert.rejects(
    connect({ transport: "carrier-pigeon" } as unknown as { transport: "memory"; name: string }),
    TypeError,
  );
  await assert.rejects(
    connect({ transport: "memory", name: 1 } as unknown as { transport: "memory"; name: string }),
    TypeError,
  );
});

Deno.test("a write after close is a ConnClosedError, a ConnError with code EPIPE", async () => {
  const [a, b] = pipe();
  a.close();
  const err = await a.write(new Uint8Array(1)).catch((e) => e);
  assert.ok(err instanceof ConnClosedError && err instanceof ConnError);
  assert.equal(err.code, "EPIPE");
  assert.equal(err.timeout, false);
  b.close();
  await tick();
});

Deno.test("accept, dial and connect reject a signal that is not an AbortSignal", async () => {
  using listener = listen({ transport: "memory", name: "sig" });
  const notASignal = { signal: "soon" as unknown as AbortSignal };
  await assert.rejects(listener.accept(notASignal), /signal must be an AbortSignal/);
  await assert.rejects(listener.dialer().dial(notASignal), TypeError);
  await assert.rejects(connect({ transport: "memory", name: "sig", ...notASignal }), TypeError);
});
