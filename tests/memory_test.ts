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
    connect({ transport: "memory", name: "busy" }),
    connect({ transport: "memory", name: "busy" }),
  ];
  await assert.rejects(connect({ transport: "memory", name: "busy" }), (err: BacklogFullError) => {
    assert.ok(err instanceof BacklogFullError);
    assert.equal(err.temporary, true);
    return true;
  });
  for (const _ of waiting) (await listener.accept()).close();
  for (const conn of await Promise.all(waiting)) conn.close();
});

Deno.test("the default backlog is 32", async () => {
  using listener = listen({ transport: "memory" });
  const dialer = listener.dialer();
  const waiting = Array.from({ length: DEFAULT_BACKLOG }, () => dialer.dial());
  await assert.rejects(dialer.dial(), BacklogFullError);
  listener.close();
  for (const w of waiting) await assert.rejects(w, ListenerClosedError);
});

Deno.test("a connect withdrawn by its signal is never accepted", async () => {
  using listener = listen({ transport: "memory", name: "withdraw" });
  const controller = new AbortController();
  const first = connect({ transport: "memory", name: "withdraw", signal: controller.signal });
  const second = connect({ transport: "memory", name: "withdraw" });
  controller.abort(new Error("changed my mind"));
  await assert.rejects(first, /changed my mind/);
  using server = await listener.accept();
  using client = await second;
  await client.write(new Uint8Array([7]));
  const buf = new Uint8Array(1);
  assert.equal(await server.read(buf), 1);
  assert.equal(buf[0], 7);
});

Deno.test("accept honours its signal, and a later connect goes to the next accept", async () => {
  using listener = listen({ transport: "memory", name: "acc" });
  const err = await listener.accept({ signal: AbortSignal.timeout(20) }).catch((e) => e);
  assert.equal(err.name, "TimeoutError");
  const dialing = connect({ transport: "memory", name: "acc" });
  using _server = await listener.accept();
  using _client = await dialing;
});

Deno.test("close rejects pending accepts, frees the name, refuses by name, fails the dialer, keeps accepted conns", async () => {
  const listener = listen({ transport: "memory", name: "closing" });
  const dialer = listener.dialer();
  const dialing = connect({ transport: "memory", name: "closing" });
  const server = await listener.accept();
  const client = await dialing;
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

Deno.test("connects waiting in the backlog when the listener closes are refused", async () => {
  const listener = listen({ transport: "memory", name: "late" });
  const waiting = connect({ transport: "memory", name: "late" });
  listener.close();
  await assert.rejects(waiting, ConnectionRefusedError);
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

Deno.test("a dial honours an already-aborted signal", async () => {
  using listener = listen({ transport: "memory" });
  const reason = new Error("no");
  await assert.rejects(listener.dialer().dial({ signal: AbortSignal.abort(reason) }), (e) => e === reason);
  await assert.rejects(
    connect({ transport: "memory", name: "x", signal: AbortSignal.abort(reason) }),
    (e) => e === reason,
  );
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
