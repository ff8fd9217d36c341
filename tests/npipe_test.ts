import assert from "node:assert/strict";
import { ConnClosedError, connect, ConnError, listen, pipeSocketPath } from "../mod.ts";
import { parsePipeAddress } from "../transports/npipe.ts";

/** A pipe address no other test uses. */
const uniquePipe = (label: string) => String.raw`\\.\pipe\tether-${label}-` + crypto.randomUUID().slice(0, 8);

Deno.test("pipe addresses of the form \\\\.\\pipe\\NAME are accepted, case-insensitively", () => {
  assert.equal(parsePipeAddress("\\\\.\\pipe\\my-app"), "my-app");
  assert.equal(parsePipeAddress("\\\\.\\PIPE\\My App.v2"), "My App.v2");
  assert.equal(parsePipeAddress("\\\\.\\pipe\\a/b:c"), "a/b:c");
  assert.equal(pipeSocketPath("\\\\.\\pipe\\Mixed"), pipeSocketPath("\\\\.\\pipe\\mixed"));
  assert.match(pipeSocketPath("\\\\.\\pipe\\a/b"), /\/tether-pipe-a%2Fb\.sock$/);
});

Deno.test("malformed pipe addresses get a TypeError naming the expected form", () => {
  const bad = [
    "",
    "my-app",
    "\\\\.\\pipe\\ ".trimEnd(),
    "\\\\.\\pipe\\a\\b",
    "//./pipe/x",
    "\\\\.\\notpipe\\x",
    "\\.\\pipe\\x",
    "/tmp/x.sock",
  ];
  for (const address of bad) {
    assert.throws(() => parsePipeAddress(address), (err: Error) => {
      assert.ok(err instanceof TypeError, address);
      assert.ok(err.message.includes("\\\\.\\pipe\\NAME"), err.message);
      return true;
    });
  }
  assert.throws(() => parsePipeAddress(42), TypeError);
  assert.throws(() => parsePipeAddress("\\\\.\\pipe\\" + "x".repeat(300)), RangeError);
});

Deno.test("a remote pipe address is refused on POSIX with a clear error", async () => {
  assert.throws(
    () => parsePipeAddress("\\\\server\\pipe\\app"),
    (err: Error) => err instanceof TypeError && /remote pipe/.test(err.message) && /tcp/.test(err.message),
  );
  await assert.rejects(connect({ transport: "pipe", path: "\\\\server\\pipe\\app" }), /remote pipe/);
  await assert.rejects(listen({ transport: "pipe", path: "\\\\server\\pipe\\app" }), /remote pipe/);
});

Deno.test("a pipe maps to a mode-0o600 socket in $XDG_RUNTIME_DIR, else in $TMPDIR", async () => {
  const runtime = await Deno.makeTempDir();
  const temp = await Deno.makeTempDir();
  const mod = new URL("../mod.ts", import.meta.url).href;
  const script = `${temp}/where.ts`;
  await Deno.writeTextFile(
    script,
    `import { listen, pipeSocketPath } from ${JSON.stringify(mod)};
const path = String.raw\`\\\\.\\pipe\\Where\`;
await using _listener = await listen({ transport: "pipe", path });
const file = pipeSocketPath(path);
console.log(file, ((await Deno.stat(file)).mode & 0o777).toString(8));`,
  );
  const run = async (env: Record<string, string>) => {
    const { stdout, success } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", script],
      clearEnv: true,
      env,
      stdout: "piped",
    }).output();
    assert.ok(success);
    return new TextDecoder().decode(stdout).trim();
  };
  try {
    assert.equal(
      await run({ XDG_RUNTIME_DIR: runtime, TMPDIR: temp }),
      `${runtime}/tether-pipe-where.sock 600`,
    );
    assert.equal(await run({ TMPDIR: temp }), `${temp}/tether-pipe-where.sock 600`);
    // The listeners removed their files when they closed.
    assert.deepEqual([...Deno.readDirSync(runtime)], []);
  } finally {
    await Deno.remove(runtime, { recursive: true });
    await Deno.remove(temp, { recursive: true });
  }
});

Deno.test("a pipe conn carries bytes both ways, and names the pipe", async () => {
  const path = uniquePipe("echo");
  await using listener = await listen({ transport: "pipe", path });
  const dialing = connect({
    transport: "pipe",
    path: path.toUpperCase().replace("\\\\.\\PIPE", "\\\\.\\pipe"),
  });
  await using server = await listener.accept();
  await using client = await dialing;
  assert.equal(listener.addr.address, path);
  assert.equal(server.remoteAddr.transport, "pipe");
  await client.write(new Uint8Array([1, 2, 3]));
  const buf = new Uint8Array(3);
  assert.equal(await server.read(buf), 3);
  await server.write(buf);
  assert.equal(await client.read(new Uint8Array(3)), 3);
});

Deno.test("connect waits for a pipe listener that starts later", async () => {
  const path = uniquePipe("later");
  const dialing = connect({ transport: "pipe", path, signal: AbortSignal.timeout(10_000) });
  await new Promise((resolve) => setTimeout(resolve, 50)); // the connect polls meanwhile
  await using listener = await listen({ transport: "pipe", path });
  await using server = await listener.accept();
  await using client = await dialing;
  await client.write(new Uint8Array([42]));
  assert.equal(await server.read(new Uint8Array(1)), 1);
});

Deno.test("connect to a pipe nobody listens on times out with an error naming the connect and the pipe", async () => {
  const path = uniquePipe("nobody");
  const err = await connect({ transport: "pipe", path, signal: AbortSignal.timeout(100) }).catch((e) => e);
  assert.ok(err instanceof ConnError, String(err));
  assert.equal(err.timeout, true);
  assert.equal(err.op, "connect");
  assert.equal(err.addr, `pipe:${path}`);
  assert.equal((err.cause as DOMException).name, "TimeoutError");
  assert.match(err.message, /^connect pipe:.*: timed out \(no listener had room for it in time\)$/);
});

Deno.test("maxInstances bounds open conns; a connect beyond it waits until one closes", async () => {
  const path = uniquePipe("max");
  await using listener = await listen({ transport: "pipe", path, maxInstances: 2 });
  const conns = [];
  for (let i = 0; i < 2; i++) {
    const dialing = connect({ transport: "pipe", path, signal: AbortSignal.timeout(10_000) });
    conns.push(await listener.accept(), await dialing);
  }
  // A third can't get an instance while two are open: it waits out its signal.
  const busy = await connect({ transport: "pipe", path, signal: AbortSignal.timeout(200) }).catch((e) => e);
  assert.equal(busy.timeout, true);
  const waiting = connect({ transport: "pipe", path, signal: AbortSignal.timeout(10_000) });
  const accepting = listener.accept();
  conns[0].close(); // the server's end: one instance is free
  await using third = await waiting;
  await using thirdServer = await accepting;
  await third.write(new Uint8Array([3]));
  assert.equal(await thirdServer.read(new Uint8Array(1)), 1);
  for (const conn of conns) conn.close();
});

Deno.test("bad maxInstances gets a RangeError", async () => {
  for (const maxInstances of [0, 256, 1.5, -1]) {
    await assert.rejects(listen({ transport: "pipe", path: uniquePipe("bad"), maxInstances }), RangeError);
  }
});

Deno.test("pipes: connect, connect, then accept, accept, in sequence: connects complete before anyone accepts", async () => {
  const path = uniquePipe("ahead");
  await using listener = await listen({ transport: "pipe", path });
  const signal = AbortSignal.timeout(10_000);
  await using first = await connect({ transport: "pipe", path, signal });
  await using second = await connect({ transport: "pipe", path, signal });
  await first.write(new Uint8Array([1])); // writes go through before the accept, too
  await second.write(new Uint8Array([2]));
  await using a = await listener.accept({ signal });
  await using b = await listener.accept({ signal });
  const got = new Uint8Array(1);
  assert.equal(await a.read(got), 1);
  assert.equal(got[0], 1, "accepted in the order they connected");
  assert.equal(await b.read(got), 1);
  assert.equal(got[0], 2);
});

Deno.test("pipes: 32 connects complete ahead of accept(); the 33rd waits for room, within its signal", async () => {
  const path = uniquePipe("backlog32");
  await using listener = await listen({ transport: "pipe", path });
  const signal = AbortSignal.timeout(20_000);
  const clients = [];
  for (let i = 0; i < 32; i++) clients.push(await connect({ transport: "pipe", path, signal }));
  const late = await connect({ transport: "pipe", path, signal: AbortSignal.timeout(200) }).catch((e) => e);
  assert.ok(late instanceof ConnError && late.timeout, `the 33rd waits: ${late}`);
  const waiting = connect({ transport: "pipe", path, signal });
  const servers = [await listener.accept({ signal })]; // room for one more
  clients.push(await waiting);
  while (servers.length < clients.length) servers.push(await listener.accept({ signal }));
  for (const conn of [...clients, ...servers]) conn.close();
});

Deno.test("pipes: a connect admitted but not accepted when the listener closes sees its peer close", async () => {
  const path = uniquePipe("orphan");
  const listener = await listen({ transport: "pipe", path });
  await using client = await connect({ transport: "pipe", path, signal: AbortSignal.timeout(10_000) });
  listener.close();
  assert.equal(await client.read(new Uint8Array(1), { signal: AbortSignal.timeout(10_000) }), null, "EOF");
  // Writes then fail, as to any closed peer (the first may still land in the kernel's buffer).
  let err: unknown;
  for (let i = 0; i < 100 && err === undefined; i++) {
    await client.write(new Uint8Array(1024)).catch((e) => err = e);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  assert.ok(err instanceof ConnClosedError, String(err));
});
