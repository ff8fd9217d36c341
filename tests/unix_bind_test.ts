/**
 * How a Unix listener binds its socket file: with its mode from the moment
 * the file appears, surviving the close of an earlier listener on the path,
 * and never deleting a file that is not its own.
 */
import assert from "node:assert/strict";
import { AddrInUseError, connect, listen, ListenerClosedError, pipeSocketPath } from "../mod.ts";
import { assertReachable, exists, inTempDir, leaveStaleSocket, runWith, within } from "./socket_helpers.ts";

Deno.test("close() with an accept pending, then listen at once on the path, 20 times: each listener keeps its file and is reachable", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/again.sock`;
    for (let i = 0; i < 20; i++) {
      const old = await listen({ transport: "unix", path });
      const pending = assert.rejects(old.accept(), ListenerClosedError);
      old.close();
      assert.equal(await exists(path), false, "close() removed the file before it returned");
      await using listener = await listen({ transport: "unix", path });
      // Deno lets go of the old native listener once its accept has wound down.
      await pending;
      await new Promise((resolve) => setTimeout(resolve, 1));
      assert.ok((await Deno.lstat(path)).isSocket, `round ${i}: the new listener's file is still there`);
      await assertReachable(listener, path);
    }
    assert.deepEqual([...Deno.readDirSync(dir)], [], "no private bind directory is left behind");
  });
});

Deno.test("a pipe closed and listened on again at once, 20 times, is reachable each time", async () => {
  for (let i = 0; i < 20; i++) {
    const path = String.raw`\\.\pipe\tether-again-` + crypto.randomUUID().slice(0, 8);
    const old = await listen({ transport: "pipe", path }); // a pipe listener always has an accept pending
    old.close();
    await using listener = await listen({ transport: "pipe", path });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const dialing = connect({ transport: "pipe", path, signal: AbortSignal.timeout(5000) });
    await using server = await listener.accept({ signal: AbortSignal.timeout(5000) });
    await using client = await dialing;
    await client.write(new Uint8Array([i]));
    assert.equal(await server.read(new Uint8Array(1)), 1);
    assert.ok((await Deno.lstat(pipeSocketPath(path))).isSocket);
  }
});

Deno.test("with only --allow-net=unix:<path>, close then listen again at once works 20 times", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/scoped.sock`;
    const out = await runWith(
      dir,
      [`--allow-read=${dir}`, `--allow-write=${dir}`, `--allow-net=unix:${path}`],
      `const path = ${JSON.stringify(path)};
let reached = 0;
for (let i = 0; i < 20; i++) {
  const old = await t.listen({ transport: "unix", path });
  const pending = old.accept().catch(() => {});
  old.close();
  await using listener = await t.listen({ transport: "unix", path });
  await pending;
  await new Promise((resolve) => setTimeout(resolve, 1));
  const dialing = t.connect({ transport: "unix", path, signal: AbortSignal.timeout(5000) });
  await using server = await listener.accept({ signal: AbortSignal.timeout(5000) });
  await using client = await dialing;
  await client.write(new Uint8Array([1]));
  if (await server.read(new Uint8Array(1)) === 1) reached++;
}
await using last = await t.listen({ transport: "unix", path });
console.log(reached, (Deno.statSync(path).mode & 0o777).toString(8));`,
    );
    assert.equal(out, "20 600");
  });
});

Deno.test("closing a listener leaves alone another listener's socket bound at its path since", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/shared.sock`;
    const ours = await listen({ transport: "unix", path });
    const pending = assert.rejects(ours.accept(), ListenerClosedError);
    await Deno.remove(path); // say, an admin cleaned up, and a new instance started
    await using theirs = await listen({ transport: "unix", path });
    const theirFile = await Deno.lstat(path);
    ours.close();
    await pending;
    await new Promise((resolve) => setTimeout(resolve, 1));
    assert.equal((await Deno.lstat(path)).ino, theirFile.ino, "their socket file is still there");
    await assertReachable(theirs, path);
  });
});

const ROUNDS = 20;

/** Waits for each of `<base>-0.sock`, `<base>-1.sock`... to appear; stats it at first sight. */
const WATCHER = `
import os, sys, time
base, seen_marker, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
modes = []
end = time.time() + 60
for i in range(rounds):
    path = f"{base}-{i}.sock"
    while time.time() < end:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        modes.append(oct(st.st_mode & 0o777)[2:])
        open(seen_marker, "w").close()  # tells the listener it may go on
        break
print(len(modes), " ".join(sorted(set(modes))), flush=True)
`;

Deno.test("under umask 000 the socket file has mode 0o600 already when it first appears", async () => {
  await inTempDir(async (dir) => {
    const base = `${dir}/watched`;
    const seen = `${dir}/seen`;
    // Another process stats each socket path at first sight.
    const watcher = new Deno.Command("python3", {
      args: ["-c", WATCHER, base, seen, String(ROUNDS)],
      stdout: "piped",
    }).spawn();
    const mod = new URL("../mod.ts", import.meta.url).href;
    const script = `${dir}/listen.ts`;
    await Deno.writeTextFile(
      script,
      `import { listen } from ${JSON.stringify(mod)};
const probe = ${JSON.stringify(`${dir}/probe`)};
Deno.writeFileSync(probe, new Uint8Array(), { mode: 0o666 });
console.log("umask-probe", (Deno.statSync(probe).mode & 0o777).toString(8));
Deno.removeSync(probe);
const seen = ${JSON.stringify(seen)};
const end = Date.now() + 60_000;
for (let i = 0; i < ${ROUNDS}; i++) {
  using _listener = await listen({ transport: "unix", path: ${JSON.stringify(base)} + "-" + i + ".sock" });
  // Stays up until the watcher has seen it.
  while (Date.now() < end && !(await Deno.remove(seen).then(() => true, () => false))) {
    await new Promise((r) => setTimeout(r, 1));
  }
}`,
    );
    const listener = await new Deno.Command("sh", {
      args: ["-c", `umask 000 && exec "$0" run -A "$1"`, Deno.execPath(), script],
      stdout: "piped",
    }).output();
    assert.ok(listener.success);
    assert.equal(
      new TextDecoder().decode(listener.stdout).trim(),
      "umask-probe 666",
      "the listener ran under umask 000",
    );
    const { stdout } = await watcher.output();
    const [count, modes] = new TextDecoder().decode(stdout).trim().split(" ", 2);
    assert.equal(Number(count), ROUNDS, "the watcher saw every socket file");
    assert.equal(modes, "600", `every socket file was 0o600 at first sight (saw ${modes})`);
  });
});

/**
 * Runs listen() on `path` in a child process under umask 000 (so the umask
 * and the instrumentation stay there), looking at the path synchronously
 * before and after every file system call listen() makes, and returns the
 * modes it saw the file with.
 */
async function modesSeenDuringListen(dir: string, path: string, flags: string[]): Promise<string[]> {
  const out = await runWith(
    dir,
    flags,
    `const path = ${JSON.stringify(path)};
const sightings = [];
const look = () => {
  try {
    sightings.push((Deno.lstatSync(path).mode & 0o777).toString(8));
  } catch {
    // Not there yet.
  }
};
for (const name of ["lstat", "chmod", "link", "mkdir", "remove", "rename", "connect"]) {
  const real = Deno[name];
  Deno[name] = (...args) => (look(), real(...args));
}
const realListen = Deno.listen;
Deno.listen = (...args) => {
  look();
  const native = realListen(...args);
  look();
  return native;
};
await t.listen({ transport: "unix", path }).then((listener) => (look(), listener.close()));
console.log(sightings.join(" "));`,
    "000",
  );
  const sightings = out.split(" ");
  assert.ok(sightings.length > 0 && sightings[0] !== "", "the file was seen once listen() returned");
  return sightings;
}

Deno.test("no step of listen() shows the socket file at its path with a mode other than 0o600, under umask 000", async () => {
  await inTempDir(async (dir) => {
    const sightings = await modesSeenDuringListen(dir, `${dir}/stepped.sock`, ["-A"]);
    assert.deepEqual(new Set(sightings), new Set(["600"]), `modes seen: ${sightings}`);
  });
});

Deno.test("bound in place (narrow --allow-net) with --allow-sys, no step of listen() shows a mode other than 0o600", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/stepped.sock`;
    const sightings = await modesSeenDuringListen(dir, path, [
      `--allow-read=${dir}`,
      `--allow-write=${dir}`,
      `--allow-net=unix:${path}`, // narrow: the socket can only be bound in place
      "--allow-sys", // Deno 2.9 takes no "umask" descriptor for --allow-sys=
      "--allow-env",
    ]);
    assert.deepEqual(new Set(sightings), new Set(["600"]), `modes seen: ${sightings}`);
  });
});

/**
 * Listens on `path`, which holds a stale socket, while another program (no
 * tether, so it takes no turn) replaces that socket with a live one right
 * after the listen's first probe finds it dead: the window an unguarded
 * remove would fall into. Returns the listen's error; checks the other
 * program's socket still answers.
 */
async function listenWhileReplaced(path: string): Promise<unknown> {
  const realConnect = Deno.connect;
  let theirs: Deno.UnixListener | undefined;
  const patched = async (options: Deno.UnixConnectOptions) => {
    try {
      return await realConnect(options);
    } catch (err) {
      Object.assign(Deno, { connect: realConnect });
      await Deno.remove(path);
      theirs = Deno.listen({ transport: "unix", path });
      throw err;
    }
  };
  Object.assign(Deno, { connect: patched });
  let err: unknown;
  try {
    err = await listen({ transport: "unix", path }).catch((e) => e);
  } finally {
    Object.assign(Deno, { connect: realConnect });
  }
  assert.ok(theirs, "the race was set up");
  using listener = theirs;
  const accepting = listener.accept();
  using _client = await Deno.connect({ transport: "unix", path });
  using _server = await within(accepting, 5000, "the other program's accept");
  return err;
}

Deno.test("clearing an old stale socket never removes a live one another program put there after the probe", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/raced.sock`;
    await leaveStaleSocket(path);
    const hourAgo = new Date(Date.now() - 3600_000);
    await Deno.utime(path, hourAgo, hourAgo);
    const err = await listenWhileReplaced(path);
    assert.ok(err instanceof AddrInUseError, String(err));
    assert.match(err.message, /another program replaced the file as it was probed/);
  });
});

Deno.test("a young socket nobody answers on is probed again before it counts as stale", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/young.sock`;
    await leaveStaleSocket(path); // just made: it may be a listen caught between bind and listen
    const err = await listenWhileReplaced(path);
    assert.ok(err instanceof AddrInUseError, String(err));
    assert.match(err.message, /a live listener answered on it\)$/);
  });
});
