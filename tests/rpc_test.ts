import assert from "node:assert/strict";
import { RpcSession, RpcTarget, type RpcTransport } from "capnweb";
import { ConnClosedError, connect, frames, pipe, ProtocolError } from "../mod.ts";
import { rpcTransport } from "../rpc/mod.ts";
import { Api, type Listener } from "./fixtures/rpc_api.ts";
import { spawnReady } from "./socket_helpers.ts";

const PEER = new URL("./fixtures/rpc_peer.ts", import.meta.url).pathname;

/** A transport that notes each message's kind ("send push", "receive resolve"...) as it passes. */
function logged(transport: RpcTransport, log: string[]): RpcTransport {
  return {
    send(message) {
      log.push(`send ${JSON.parse(message)[0]}`);
      return transport.send(message);
    },
    async receive() {
      const message = await transport.receive();
      log.push(`receive ${JSON.parse(message)[0]}`);
      return message;
    },
    abort: (reason) => transport.abort?.(reason),
  };
}

/** The caller's own main object, which the API calls back. */
class Caller extends RpcTarget {
  /** Calls still pending on `hang()`. */
  hanging = 0;
  name(): string {
    return "the caller";
  }
  /** Never answers. */
  hang(): Promise<void> {
    this.hanging++;
    return new Promise(() => {});
  }
}

/** Runs `check` until it passes, for effects that cross a conn; fails after 5 s. */
async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(check(), what);
}

Deno.test("capnweb over pipe(): calls, a pipelined call, an object by reference, calls both ways", async () => {
  const [a, b] = pipe();
  const api = new Api();
  const server = new RpcSession<Caller>(rpcTransport(frames(b)), api);
  const log: string[] = [];
  const client = new RpcSession<Api>(logged(rpcTransport(frames(a)), log), new Caller());
  const remote = client.getRemoteMain();
  assert.equal(await remote.add(2, 3), 5);

  // Pipelined: increment() is called on the counter before makeCounter's answer comes back.
  log.length = 0;
  using counter = remote.makeCounter(10);
  const value = await counter.increment(5);
  assert.equal(value, 15);
  const firstReceive = log.findIndex((entry) => entry.startsWith("receive"));
  const pushes = log.slice(0, firstReceive).filter((entry) => entry === "send push").length;
  assert.ok(pushes >= 2, `both calls went out before any answer came back: ${log.join(", ")}`);
  // The counter lives on the server, by reference: calls on the stub change it there.
  assert.equal(await counter.increment(), 16);

  // Calls go both ways on one session: the server's stub for the caller's main.
  assert.equal(await server.getRemoteMain().name(), "the caller");
  assert.equal(await remote.greetCaller(new Caller()), "hello, the caller");
  a.close();
});

Deno.test("capnweb over pipe(): a callback passed by reference is called back across the conn", async () => {
  const [a, b] = pipe();
  new RpcSession(rpcTransport(frames(b)), new Api());
  const remote = new RpcSession<Api>(rpcTransport(frames(a))).getRemoteMain();
  const events: string[] = [];
  const listener: Listener = (event) => void events.push(event);
  assert.equal(await remote.notify(listener, 3), 3);
  assert.deepEqual(events, ["event 1", "event 2", "event 3"]);
  a.close();
});

Deno.test("capnweb over pipe(): a dropped conn rejects the pending calls with ConnClosedError, on both ends", async () => {
  const [a, b] = pipe();
  const api = new Api();
  const caller = new Caller();
  const server = new RpcSession<Caller>(rpcTransport(frames(b)), api);
  const remote = new RpcSession<Api>(rpcTransport(frames(a)), caller).getRemoteMain();
  const clientPending = remote.hang().then(() => "answered", (err) => err);
  const serverPending = server.getRemoteMain().hang().then(() => "answered", (err) => err);
  await eventually(() => api.hanging === 1 && caller.hanging === 1, "both calls reached the other end");
  b.close(); // the server's end goes
  const [onClient, onServer] = await Promise.all([clientPending, serverPending]);
  assert.ok(onClient instanceof ConnClosedError, `the client's pending call got ${onClient}`);
  assert.ok(onServer instanceof ConnClosedError, `the server's pending call got ${onServer}`);
  // Later calls on the broken session fail the same way, at once.
  assert.ok((await remote.add(1, 1).catch((e) => e)) instanceof ConnClosedError);
  a.close();
});

Deno.test("rpcTransport: a frame that is not UTF-8 is a ProtocolError that closes the conn", async () => {
  const [a, b] = pipe();
  const transport = rpcTransport(frames(a));
  await frames(b).send(new Uint8Array([0xff, 0xfe, 0xfd]));
  const err = await transport.receive().catch((e) => e);
  assert.ok(err instanceof ProtocolError, `${err}`);
  assert.equal(await b.read(new Uint8Array(1)), null);
  assert.throws(() => rpcTransport(a as never), /rpcTransport\(frames\(conn\)\)/);
  b.close();
});

Deno.test("rpcTransport: capnweb's abort sends what is queued, then closes the conn", async () => {
  const [a, b] = pipe();
  const transport = rpcTransport(frames(a));
  const peer = frames(b);
  await transport.send('["abort","gone"]');
  transport.abort!(new Error("session failed"));
  assert.equal(new TextDecoder().decode((await peer.receive())!), '["abort","gone"]');
  assert.equal(await peer.receive(), null);
  await a.closed;
  b.close();
});

Deno.test("capnweb between two processes over a Unix socket: pipelining, a callback, and the peer dying", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/rpc.sock`;
  const child = await spawnReady(PEER, path);
  try {
    const conn = await connect({ transport: "unix", path, signal: AbortSignal.timeout(5000) });
    const session = new RpcSession<Api>(rpcTransport(frames(conn)), new Caller());
    const remote = session.getRemoteMain();
    assert.equal(await remote.pid(), child.pid);
    using counter = remote.makeCounter(100);
    assert.equal(await counter.increment(1), 101); // pipelined on the first call's answer
    const events: string[] = [];
    assert.equal(
      await remote.notify((event: string) => void events.push(event), 2),
      2,
    );
    assert.deepEqual(events, ["event 1", "event 2"]);
    assert.equal(await remote.greetCaller(new Caller()), "hello, the caller");

    const pending = remote.hang().then(() => "answered", (err) => err);
    await remote.add(0, 0); // the hang() went out before this answer came back
    child.kill("SIGKILL");
    const err = await pending;
    assert.ok(err instanceof ConnClosedError, `the pending call got ${err}`);
    conn.close();
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // Gone already.
    }
    await child.status;
    await child.stdout.cancel();
    await Deno.remove(dir, { recursive: true });
  }
});
