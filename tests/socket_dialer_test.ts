/**
 * `dialer(connectOptions)` over the socket transports, and `ref`/`unref`
 * on socket conns, proved with a child process that exits, or doesn't.
 */
import assert from "node:assert/strict";
import { type ConnectOptions, ConnError, dialer, listen, type Listener } from "../mod.ts";
import { inTempDir, spawnChild, within } from "./socket_helpers.ts";

/** Dials twice through `d`, and checks each dial is a conn of its own that `listener` accepts. */
async function assertDialsAnew(d: ReturnType<typeof dialer>, listener: Listener): Promise<void> {
  for (const byte of [1, 2]) {
    const dialing = d.dial({ signal: AbortSignal.timeout(10_000) });
    await using server = await listener.accept({ signal: AbortSignal.timeout(10_000) });
    await using client = await dialing;
    await client.write(new Uint8Array([byte]));
    const got = new Uint8Array(1);
    assert.equal(await server.read(got), 1);
    assert.equal(got[0], byte);
  }
}

/** The dial's own signal counts: an aborted one fails the dial, naming the connect and the address. */
async function assertDialHonoursItsSignal(d: ReturnType<typeof dialer>, addr: string): Promise<void> {
  const err = await d.dial({ signal: AbortSignal.abort(new Error("gave up")) }).catch((e) => e);
  assert.ok(err instanceof ConnError, String(err));
  assert.equal(err.code, "ECANCELED");
  assert.equal(err.op, "connect");
  assert.equal(err.addr, addr);
}

/** The options' own signal is left out: an aborted one there stops no dial. */
const withAbortedSignal = <T extends ConnectOptions>(options: T): T => ({
  ...options,
  signal: AbortSignal.abort(),
});

Deno.test("a unix dialer connects anew on each dial, with the dial's own signal", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/dialed.sock`;
    await using listener = await listen({ transport: "unix", path });
    const d = dialer(withAbortedSignal({ transport: "unix", path }));
    await assertDialsAnew(d, listener);
    await assertDialHonoursItsSignal(d, `unix:${path}`);
  });
});

Deno.test("a tcp dialer connects anew on each dial, with the dial's own signal", async () => {
  await using listener = await listen({ transport: "tcp", hostname: "127.0.0.1", port: 0 });
  const { hostname, port } = listener.addr;
  const d = dialer(withAbortedSignal({ transport: "tcp", hostname, port }));
  await assertDialsAnew(d, listener);
  await assertDialHonoursItsSignal(d, `tcp:127.0.0.1:${port}`);
});

Deno.test("a pipe dialer connects anew on each dial, waits within the dial's signal for a listener to come", async () => {
  const path = String.raw`\\.\pipe\tether-dialer-` + crypto.randomUUID().slice(0, 8);
  const d = dialer(withAbortedSignal({ transport: "pipe", path }));
  const early = await d.dial({ signal: AbortSignal.timeout(50) }).catch((e) => e);
  assert.ok(early instanceof ConnError && early.timeout, String(early));
  await using listener = await listen({ transport: "pipe", path });
  await assertDialsAnew(d, listener);
  await assertDialHonoursItsSignal(d, `pipe:${path}`);
});

Deno.test("dialer() checks its options up front: not options, or an unknown transport, is a TypeError", () => {
  // @ts-expect-error: not a transport
  assert.throws(() => dialer({ transport: "smoke-signals" }), /unknown transport/);
  // @ts-expect-error: not options
  assert.throws(() => dialer(null), TypeError);
});

/**
 * A child that connects to `path`, calls `how` on the conn, then waits to
 * read a byte: with `read()` (straight from the socket), with `read()` and
 * a signal (through the pump), or through `readable`. Not awaited at the top
 * level, which Deno would wait for regardless.
 */
const READER = (path: string, how: "ref" | "unref", via: Via) => `
const conn = await t.connect({ transport: "unix", path: ${JSON.stringify(path)} });
${how === "unref" ? "conn.unref();" : "conn.unref(); conn.ref();"}
say("reading");
const reading = ${
  {
    "read": "conn.read(new Uint8Array(1))",
    "read with a signal": "conn.read(new Uint8Array(1), { signal: new AbortController().signal })",
    "readable": "conn.readable.getReader().read().then((r) => r.value?.byteLength)",
  }[via]
};
reading.then((n) => say("got", n));`;

type Via = "read" | "read with a signal" | "readable";

for (const via of ["read", "read with a signal", "readable"] as const) {
  Deno.test(`a process exits while an unref'd unix conn waits in ${via}, and waits while it is ref'd`, async () => {
    await inTempDir(async (dir) => {
      const path = `${dir}/ref.sock`;
      await using listener = await listen({ transport: "unix", path });
      const flags = ["--allow-read", "--allow-write", "--allow-net"];

      const unrefd = await spawnChild(dir, flags, READER(path, "unref", via));
      await using _quiet = await listener.accept({ signal: AbortSignal.timeout(10_000) });
      assert.equal(await unrefd.next("the unref'd child reading"), "reading");
      const status = await within(unrefd.end(), 10_000, "the unref'd child exiting on its own");
      assert.equal(status.code, 0);

      const refd = await spawnChild(dir, flags, READER(path, "ref", via));
      try {
        await using server = await listener.accept({ signal: AbortSignal.timeout(10_000) });
        assert.equal(await refd.next("the ref'd child reading"), "reading");
        // Were the conn not keeping it alive, it would exit at once and never read this byte.
        await new Promise((resolve) => setTimeout(resolve, 300));
        await server.write(new Uint8Array([1]));
        assert.equal(await refd.next("the ref'd child's byte"), "got 1");
        assert.equal((await refd.end()).code, 0);
      } finally {
        await refd.kill();
      }
    });
  });
}
