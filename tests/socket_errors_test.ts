/**
 * Socket errors that used to escape unmapped, or were not clear: each is a
 * typed error naming the address, or a TypeError/RangeError up front.
 */
import assert from "node:assert/strict";
import {
  AddrInUseError,
  BacklogFullError,
  connect,
  ConnectionRefusedError,
  ConnError,
  listen,
  pipeSocketPath,
} from "../mod.ts";
import { maxSocketPath } from "../transports/unix_bind.ts";
import { parsePipeAddress } from "../transports/npipe.ts";
import { fillBacklog, inTempDir, runWith, within } from "./socket_helpers.ts";

const uniquePipe = (label: string) => String.raw`\\.\pipe\tether-${label}-` + crypto.randomUUID().slice(0, 8);

Deno.test("a unix path over the sun_path limit is a RangeError up front naming the limit", async () => {
  const long = `/tmp/${"x".repeat(maxSocketPath())}.sock`;
  for (
    const attempt of [listen({ transport: "unix", path: long }), connect({ transport: "unix", path: long })]
  ) {
    const err = await attempt.catch((e) => e);
    assert.ok(err instanceof RangeError, String(err));
    assert.match(err.message, new RegExp(`at most ${maxSocketPath()}`));
  }
  const fits = `/tmp/${"y".repeat(maxSocketPath() - "/tmp/".length)}`;
  const refused = await connect({ transport: "unix", path: fits }).catch((e) => e);
  assert.ok(refused instanceof ConnectionRefusedError, "a path of exactly the limit is fine");
});

Deno.test("a pipe name whose socket path would be too long is a RangeError naming the limit", async () => {
  const path = "\\\\.\\pipe\\" + "n".repeat(200);
  assert.equal(parsePipeAddress(path).length, 200);
  assert.throws(() => pipeSocketPath(path), new RegExp(`at most ${maxSocketPath()}`));
  await assert.rejects(listen({ transport: "pipe", path }), RangeError);
  await assert.rejects(connect({ transport: "pipe", path }), RangeError);
});

Deno.test("a lone surrogate in a unix path or pipe name is a TypeError", async () => {
  await assert.rejects(listen({ transport: "unix", path: "/tmp/a\uD800.sock" }), TypeError);
  await assert.rejects(connect({ transport: "unix", path: "/tmp/a\uDC00.sock" }), TypeError);
  assert.throws(() => parsePipeAddress("\\\\.\\pipe\\a\uD800"), /well-formed/);
  await assert.rejects(
    connect({ transport: "pipe", path: "\\\\.\\pipe\\a\uD800", signal: AbortSignal.timeout(5000) }),
    TypeError,
  );
});

Deno.test("a path through a regular file is a ConnError with code ENOTDIR naming the address", async () => {
  await inTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/file`, "");
    const path = `${dir}/file/x.sock`;
    for (
      const attempt of [() => listen({ transport: "unix", path }), () => connect({ transport: "unix", path })]
    ) {
      const err = await attempt().catch((e) => e);
      assert.ok(err instanceof ConnError, String(err));
      assert.equal(err.code, "ENOTDIR");
      assert.ok(err.message.includes(path), err.message);
    }
  });
});

Deno.test("a unix listen in a directory that does not exist is a ConnError ENOENT that says so, naming the address", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/missing/x.sock`;
    const err = await listen({ transport: "unix", path }).catch((e) => e);
    assert.ok(err instanceof ConnError, String(err));
    assert.equal(err.code, "ENOENT");
    assert.ok(
      err.message.startsWith(
        `listen unix:${path}: the directory ${dir}/missing does not exist: create it first`,
      ),
      err.message,
    );
  });
});

Deno.test("a tcp host that does not resolve is a ConnError with code ENOTFOUND naming the host", async () => {
  const hostname = "no-such-host.invalid";
  const attempts = [
    () => listen({ transport: "tcp", hostname, port: 0 }),
    () => connect({ transport: "tcp", hostname, port: 80, signal: AbortSignal.timeout(30_000) }),
  ];
  for (const attempt of attempts) {
    const err = await attempt().catch((e) => e);
    assert.ok(err instanceof ConnError, String(err));
    assert.equal(err.code, "ENOTFOUND");
    assert.ok(err.message.includes(hostname), err.message);
  }
});

Deno.test("a full backlog: connect gets a temporary BacklogFullError naming the path; listen there gets AddrInUseError", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/busy.sock`;
    using _native = Deno.listen({ transport: "unix", path }); // never accepts
    const held = await fillBacklog(path);
    try {
      const err = await connect({ transport: "unix", path }).catch((e) => e);
      assert.ok(err instanceof ConnError, String(err));
      assert.equal(err.code, "EBACKLOG");
      assert.ok(err instanceof BacklogFullError);
      assert.equal(err.temporary, true);
      assert.ok(err.message.includes(path), err.message);
      const taken = await listen({ transport: "unix", path }).catch((e) => e);
      assert.ok(taken instanceof AddrInUseError, String(taken));
    } finally {
      for (const conn of held) conn.close();
    }
  });
});

Deno.test("a pipe connect waits out a full backlog, within its signal, and connects once there is room", async () => {
  const path = uniquePipe("backlog");
  await using listener = await listen({ transport: "pipe", path });
  const held = await fillBacklog(pipeSocketPath(path));
  const dialing = connect({ transport: "pipe", path, signal: AbortSignal.timeout(30_000) });
  const early = await within(
    Promise.race([
      dialing.then(() => "connected", (e) => `failed: ${e}`),
      new Promise((r) => setTimeout(r, 50)),
    ]),
    10_000,
    "the race",
  );
  assert.equal(early, undefined, "it neither failed nor got in while the backlog was full");
  for (const conn of held) conn.close();
  // The listener works through the backlog (the clients there hung up) to the waiting connect.
  const serving = (async () => {
    for (;;) {
      const accepted = await listener.accept().catch(() => null);
      if (accepted === null) return;
      accepted.close();
    }
  })();
  await using client = await dialing;
  assert.equal(client.remoteAddr.address, path);
  listener.close();
  await serving;
});

Deno.test("a pipe connect whose socket path is a regular file fails at once, naming the file", async () => {
  const path = uniquePipe("plain");
  const file = pipeSocketPath(path);
  await Deno.writeTextFile(file, "not a socket");
  try {
    const err = await within(
      connect({ transport: "pipe", path, signal: AbortSignal.timeout(30_000) }).catch((e) => e),
      10_000,
      "the connect",
    );
    assert.ok(err instanceof ConnectionRefusedError, String(err));
    assert.ok(err.message.includes(file) && /not a socket/.test(err.message), err.message);
    assert.equal(await Deno.readTextFile(file), "not a socket", "the file is left alone");
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("the missing-flag advice for a pipe names its socket path, not the pipe address", async () => {
  await inTempDir(async (dir) => {
    const report = `.catch((e) => console.log(e.code, e.message))`;
    const path = String.raw`\\.\pipe\perm-` + crypto.randomUUID().slice(0, 8);
    const listenOut = await runWith(
      dir,
      ["--allow-env", "--allow-net"],
      `await t.listen({ transport: "pipe", path: ${JSON.stringify(path)} })${report};`,
    );
    const connectOut = await runWith(
      dir,
      ["--allow-env", "--allow-read", "--allow-write"],
      `await t.connect({ transport: "pipe", path: ${JSON.stringify(path)} })${report};`,
    );
    const file = pipeSocketPath(path);
    for (const out of [listenOut, connectOut]) {
      assert.match(out, /^ENOTCAPABLE /);
      assert.ok(out.includes(`--allow-read and --allow-write for ${file}`), out);
      assert.ok(!out.includes("unix:\\\\"), `no flag names the pipe address: ${out}`);
    }
    assert.ok(connectOut.includes(`--allow-net=unix:${file}`), connectOut);
  });
});
