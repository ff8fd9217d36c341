import assert from "node:assert/strict";
import {
  AddrInUseError,
  ConnClosedError,
  connect,
  ConnectionRefusedError,
  ConnError,
  listen,
  ListenerClosedError,
} from "../mod.ts";
import { socketError } from "../transports/socket_errors.ts";
import { assertReachable, inTempDir, leaveStaleSocket, runWith } from "./socket_helpers.ts";

const modeOf = async (path: string) => (await Deno.stat(path)).mode! & 0o777;

Deno.test("the mode option widens the socket file's mode", async () => {
  await inTempDir(async (dir) => {
    await using _listener = await listen({ transport: "unix", path: `${dir}/a.sock`, mode: 0o660 });
    assert.equal(await modeOf(`${dir}/a.sock`), 0o660);
  });
});

Deno.test("a stale socket file left by a killed process is replaced", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/stale.sock`;
    await leaveStaleSocket(path);
    await using listener = await listen({ transport: "unix", path });
    await assertReachable(listener, path);
  });
});

Deno.test("listening on a path with a live listener is AddrInUseError and leaves it working", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/live.sock`;
    await using first = await listen({ transport: "unix", path });
    const err = await listen({ transport: "unix", path }).catch((e) => e);
    assert.ok(err instanceof AddrInUseError, String(err));
    assert.match(err.message, /live\.sock/);
    const dialing = connect({ transport: "unix", path });
    await using _server = await first.accept(); // the probe's conn came first; take the next
    await using _client = await dialing;
  });
});

Deno.test("a path that is a regular file, a directory or a symlink is never touched, and the AddrInUseError says what is there, not that a listener holds it", async () => {
  await inTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/data.txt`, "precious");
    await Deno.mkdir(`${dir}/folder`);
    await Deno.symlink(`${dir}/data.txt`, `${dir}/link.sock`);
    await Deno.symlink(`${dir}/nowhere`, `${dir}/dangling.sock`);
    const cases = [
      { name: "data.txt", what: "a regular file" },
      { name: "folder", what: "a directory" },
      { name: "link.sock", what: "a symbolic link" },
      { name: "dangling.sock", what: "a symbolic link" },
    ];
    for (const { name, what } of cases) {
      const path = `${dir}/${name}`;
      const before = await Deno.lstat(path);
      const err = await listen({ transport: "unix", path }).catch((e) => e);
      assert.ok(err instanceof AddrInUseError, `${name}: ${err}`);
      assert.equal(err.code, "EADDRINUSE");
      assert.ok(err.message.includes(path), err.message);
      assert.ok(err.message.includes(`${what} is at the path, not a socket`), err.message);
      assert.doesNotMatch(err.message, /listener/, `${name}: no listener holds it`);
      assert.match(err.message, /remove it, or choose another path/);
      const after = await Deno.lstat(path);
      assert.equal(after.ino, before.ino, `${name} is left untouched`);
    }
    assert.equal(await Deno.readTextFile(`${dir}/data.txt`), "precious");
  });
});

Deno.test("connecting to a missing or stale unix socket is ConnectionRefusedError naming the path", async () => {
  await inTempDir(async (dir) => {
    const missing = await connect({ transport: "unix", path: `${dir}/none.sock` }).catch((e) => e);
    assert.ok(missing instanceof ConnectionRefusedError);
    assert.match(missing.message, /none\.sock/);
    await leaveStaleSocket(`${dir}/stale.sock`);
    const stale = await connect({ transport: "unix", path: `${dir}/stale.sock` }).catch((e) => e);
    assert.ok(stale instanceof ConnectionRefusedError);
  });
});

Deno.test("tcp port 0 picks a free port, and addr.address is host:port", async () => {
  await using listener = await listen({ transport: "tcp", hostname: "127.0.0.1", port: 0 });
  const match = /^127\.0\.0\.1:(\d+)$/.exec(listener.addr.address);
  assert.ok(match, listener.addr.address);
  const port = Number(match[1]);
  assert.ok(port > 0);
  const dialing = connect({ transport: "tcp", hostname: "127.0.0.1", port });
  await using server = await listener.accept();
  await using client = await dialing;
  assert.equal(client.remoteAddr.address, listener.addr.address);
  assert.equal(server.remoteAddr.address, client.localAddr.address);
});

Deno.test("tcp: a taken port is AddrInUseError, a closed one ConnectionRefusedError", async () => {
  // Under --parallel another test may be given the port just freed: then try another.
  for (let attempt = 1;; attempt++) {
    const listener = await listen({ transport: "tcp", hostname: "127.0.0.1", port: 0 });
    const { port } = listener.addr;
    await assert.rejects(listen({ transport: "tcp", hostname: "127.0.0.1", port }), AddrInUseError);
    listener.close();
    const result = await connect({ transport: "tcp", hostname: "127.0.0.1", port }).catch((e) => e);
    if (!(result instanceof Error) && attempt < 5) {
      result.close(); // someone else listens there now
      continue;
    }
    assert.ok(result instanceof ConnectionRefusedError, String(result));
    assert.match(result.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
    return;
  }
});

Deno.test("an aborted accept loses no connection: the next accept gets it", async () => {
  await using listener = await listen({ transport: "tcp", hostname: "127.0.0.1", port: 0 });
  const port = Number(listener.addr.address.split(":")[1]);
  const controller = new AbortController();
  const first = listener.accept({ signal: controller.signal });
  controller.abort(new Error("gave up"));
  await assert.rejects(first, /gave up/);
  await using client = await connect({ transport: "tcp", hostname: "127.0.0.1", port });
  await using server = await listener.accept({ signal: AbortSignal.timeout(5000) });
  await client.write(new Uint8Array([9]));
  assert.equal(await server.read(new Uint8Array(1)), 1);
});

Deno.test("closing a listener ends for-await quietly and leaves accepted conns open", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/a.sock`;
    const listener = await listen({ transport: "unix", path });
    const accepted: Array<Awaited<ReturnType<typeof listener.accept>>> = [];
    const serving = (async () => {
      for await (const conn of listener) accepted.push(conn);
    })();
    await using client = await connect({ transport: "unix", path });
    while (accepted.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    listener.close();
    await serving;
    await client.write(new Uint8Array([1, 2]));
    assert.equal(await accepted[0].read(new Uint8Array(2)), 2);
    await assert.rejects(listener.accept(), ListenerClosedError);
    accepted[0].close();
  });
});

Deno.test("connect honours an already-aborted signal", async () => {
  await using listener = await listen({ transport: "tcp", hostname: "127.0.0.1", port: 0 });
  const port = Number(listener.addr.address.split(":")[1]);
  const signal = AbortSignal.abort(new Error("too late"));
  await assert.rejects(connect({ transport: "tcp", hostname: "127.0.0.1", port, signal }), /too late/);
});

Deno.test("after close, calls reject with ConnClosedError naming the peer", async () => {
  await using listener = await listen({ transport: "tcp", hostname: "127.0.0.1", port: 0 });
  const port = Number(listener.addr.address.split(":")[1]);
  const dialing = connect({ transport: "tcp", hostname: "127.0.0.1", port });
  await using _server = await listener.accept();
  const client = await dialing;
  client.close();
  const err = await client.write(new Uint8Array(1)).catch((e) => e);
  assert.ok(err instanceof ConnClosedError);
  assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
  await assert.rejects(client.read(new Uint8Array(1)), ConnClosedError);
});

Deno.test("bad socket options get TypeError or RangeError", async () => {
  await assert.rejects(listen({ transport: "unix", path: "" }), TypeError);
  await assert.rejects(listen({ transport: "unix", path: "/tmp/x.sock", mode: 0o1777 }), TypeError);
  await assert.rejects(listen({ transport: "tcp", port: 70000 }), RangeError);
  await assert.rejects(listen({ transport: "tcp", port: 1.5 }), TypeError);
  await assert.rejects(connect({ transport: "tcp", hostname: "", port: 1 }), TypeError);
  // @ts-expect-error: not a transport
  await assert.rejects(connect({ transport: "carrier-pigeon" }), /unknown transport/);
});

Deno.test("a missing permission flag is a ConnError that names the flag", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/perm.sock`;
    const report = `.catch((e) => console.log(e instanceof t.ConnError, e.code, e.message))`;
    const noNet = await runWith(
      dir,
      [`--allow-read=${dir}`, `--allow-write=${dir}`],
      `await t.listen({ transport: "unix", path: ${JSON.stringify(path)} })${report};`,
    );
    assert.match(noNet, /^true ENOTCAPABLE .*missing --allow-net/);
    assert.match(noNet, /--allow-net=unix:/);
    const noRead = await runWith(
      dir,
      ["--allow-net"],
      `await t.connect({ transport: "unix", path: ${JSON.stringify(path)} })${report};`,
    );
    assert.match(noRead, /^true ENOTCAPABLE .*missing --allow-read/);
    const noTcp = await runWith(
      dir,
      [],
      `await t.connect({ transport: "tcp", hostname: "127.0.0.1", port: 9 })${report};`,
    );
    assert.match(noTcp, /^true ENOTCAPABLE .*missing --allow-net/);
    const noEnv = await runWith(
      dir,
      ["--allow-read", "--allow-write", "--allow-net"],
      `await t.listen({ transport: "pipe", path: ${JSON.stringify(String.raw`\\.\pipe\x`)} })${report};`,
    );
    assert.match(noEnv, /^true ENOTCAPABLE .*--allow-env=XDG_RUNTIME_DIR,TMPDIR/);
  });
});

Deno.test("the OS's PermissionDenied maps to a ConnError with code EACCES naming the address", () => {
  // Tests run as root here, which no file mode stops, so the mapping is checked directly.
  const err = socketError(
    new Deno.errors.PermissionDenied("Permission denied (os error 13)"),
    "connect",
    "unix:/x",
  );
  assert.ok(err instanceof ConnError);
  assert.equal(err.code, "EACCES");
  assert.match(err.message, /unix:\/x/);
});
