/**
 * Out of file descriptors, for real: a child process under `ulimit -n 64`
 * spends every descriptor it has while a flood of clients from this process
 * connects. `accept()`, `connect()` and `listen()` reject with a temporary
 * `ConnError` naming the address; servers written with `for await` ride it
 * out and serve the whole flood once descriptors are free again.
 */
import assert from "node:assert/strict";
import { inTempDir, spawnChild, within } from "./socket_helpers.ts";

const FLOOD = 24;

/**
 * The server under a low descriptor limit. Deno 2.9.6 sets up its own
 * signal handling half a second after start and panics if no descriptor is
 * free then (ext/signals); adding a signal listener first sets it up early.
 */
const SERVER = (dir: string) => `
Deno.addSignalListener("SIGWINCH", () => {});
const unixPath = ${JSON.stringify(`${dir}/served.sock`)};
const idlePath = ${JSON.stringify(`${dir}/idle.sock`)};
const unix = await t.listen({ transport: "unix", path: unixPath });
const tcp = await t.listen({ transport: "tcp", hostname: "127.0.0.1", port: 0 });
const idle = await t.listen({ transport: "unix", path: idlePath }); // accept() called by hand
let served = 0;
let loops = "serving";
const serve = async (listener) => {
  for await (const conn of listener) {
    served++;
    conn.write(Uint8Array.of(served)).catch(() => {}).finally(() => conn.close());
  }
  loops = "ended";
};
for (const listener of [unix, tcp]) serve(listener).catch((err) => loops = "died: " + err);
const shape = (e) => ({
  connError: e instanceof t.ConnError,
  name: e?.name,
  code: e?.code,
  temporary: e?.temporary,
  addr: e?.addr,
  message: e?.message,
});
const hoard = [];
say("ready", tcp.addr.port);
for await (const line of lines()) {
  if (line === "exhaust") {
    try {
      for (;;) hoard.push(Deno.openSync("/dev/null"));
    } catch (err) {
      if (err.code !== "EMFILE") throw err;
    }
    say({
      connect: shape(await t.connect({ transport: "unix", path: unixPath }).catch((e) => e)),
      connectTcp: shape(await t.connect({ transport: "tcp", hostname: "127.0.0.1", port: tcp.addr.port }).catch((e) => e)),
      listen: shape(await t.listen({ transport: "unix", path: ${
  JSON.stringify(`${dir}/more.sock`)
} }).catch((e) => e)),
      listenTcp: shape(await t.listen({ transport: "tcp", hostname: "127.0.0.1", port: 0 }).catch((e) => e)),
    });
  } else if (line === "accept") {
    // A client waits in idle's backlog: the kernel's accept fails for want of a descriptor.
    say({ accept: shape(await idle.accept().catch((e) => e)), loops });
  } else if (line === "free") {
    for (const file of hoard.splice(0)) file.close();
    const conn = await idle.accept({ signal: AbortSignal.timeout(10_000) });
    conn.close();
    say("freed");
  } else if (line === "status") {
    say({ served, loops });
  }
}`;

type Shape = {
  connError: boolean;
  name: string;
  code: string;
  temporary: boolean;
  addr: string;
  message: string;
};

function assertOutOfDescriptors(what: string, got: Shape, addr: string): void {
  assert.ok(got.connError, `${what}: a ConnError, got ${JSON.stringify(got)}`);
  assert.ok(got.code === "EMFILE" || got.code === "ENFILE", `${what}: code ${got.code}`);
  assert.equal(got.temporary, true, `${what}: temporary`);
  assert.equal(got.addr, addr, `${what}: names the address`);
  assert.match(got.message, /out of file descriptors/, what);
}

/** Connects `count` raw clients to the child's listeners; each resolves with what it read, or null. */
async function flood(count: number, dir: string, port: number): Promise<Array<Promise<number | null>>> {
  const readings: Array<Promise<number | null>> = [];
  for (let i = 0; i < count; i++) {
    const conn = i % 2 === 0
      ? await Deno.connect({ transport: "unix", path: `${dir}/served.sock` })
      : await Deno.connect({ transport: "tcp", hostname: "127.0.0.1", port });
    readings.push((async () => {
      try {
        return await conn.read(new Uint8Array(1));
      } finally {
        conn.close();
      }
    })());
  }
  return readings;
}

Deno.test("out of file descriptors: accept, connect and listen reject with a temporary ConnError naming the address; for-await servers serve the flood once descriptors free up", async () => {
  await inTempDir(async (dir) => {
    const child = await spawnChild(dir, ["--allow-read", "--allow-write", "--allow-net"], SERVER(dir), {
      shell: "ulimit -n 64",
    });
    const readings: Array<Promise<number | null>> = [];
    try {
      const [ready, port] = (await child.next("the server starting")).split(" ");
      assert.equal(ready, "ready");
      await child.send("exhaust");
      const failures = JSON.parse(await child.next("connect and listen without descriptors"));
      assertOutOfDescriptors("connect", failures.connect, `unix:${dir}/served.sock`);
      assertOutOfDescriptors("connect tcp", failures.connectTcp, `tcp:127.0.0.1:${port}`);
      assertOutOfDescriptors("listen", failures.listen, `unix:${dir}/more.sock`);
      assertOutOfDescriptors("listen tcp", failures.listenTcp, "tcp:127.0.0.1:0");

      // The flood: the kernel queues these connects; the server can't take them yet.
      readings.push(...await flood(FLOOD, dir, Number(port)));
      using _waiting = await Deno.connect({ transport: "unix", path: `${dir}/idle.sock` });
      await child.send("accept");
      const { accept, loops } = JSON.parse(await child.next("accept without descriptors"));
      assertOutOfDescriptors("accept", accept, `unix:${dir}/idle.sock`);
      assert.equal(loops, "serving", "the for-await loops ride the errors out");

      await child.send("free");
      assert.equal(await child.next("accept once descriptors are free"), "freed");
      const answers = await within(Promise.all(readings), 30_000, "the flood's answers");
      assert.deepEqual(answers, answers.map(() => 1), "every client of the flood was served");

      // And it keeps serving.
      const again = await flood(2, dir, Number(port));
      assert.deepEqual(await within(Promise.all(again), 10_000, "clients after the flood"), [1, 1]);
      await child.send("status");
      const status = JSON.parse(await child.next("status"));
      assert.deepEqual(status, { served: FLOOD + 2, loops: "serving" });
    } finally {
      await child.kill();
      await Promise.allSettled(readings);
    }
  });
});
