/** Helpers shared by the socket tests. */
import assert from "node:assert/strict";
import { connect, listen, type Listener, type SocketConn } from "../mod.ts";

/** Runs `fn` with a fresh temp dir, removed afterwards. */
export async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Starts `script` in a second Deno process, allowed the Unix socket `path`
 * (its first argument, before `args`); resolves once it prints "ready".
 */
export async function spawnReady(
  script: string,
  path: string,
  ...args: string[]
): Promise<Deno.ChildProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", `--allow-net=unix:${path}`, script, path, ...args],
    stdout: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  reader.releaseLock();
  assert.equal(new TextDecoder().decode(value).trim(), "ready");
  return child;
}

/** Whether something is at `path`. */
export const exists = (path: string): Promise<boolean> => Deno.lstat(path).then(() => true, () => false);

/** A Unix listener at `path` and both ends of one conn through it. */
export async function unixPair(
  path: string,
): Promise<{ listener: Listener<SocketConn>; client: SocketConn; server: SocketConn }> {
  const listener = await listen({ transport: "unix", path });
  const dialing = connect({ transport: "unix", path });
  const server = await listener.accept();
  return { listener, client: await dialing, server };
}

/**
 * Runs a snippet (`t` is the library) in a Deno process with only `flags`,
 * under `umask` if given, returning what it prints.
 */
export async function runWith(dir: string, flags: string[], code: string, umask?: string): Promise<string> {
  const mod = new URL("../mod.ts", import.meta.url).href;
  const script = `${dir}/snippet-${crypto.randomUUID()}.ts`;
  await Deno.writeTextFile(script, `import * as t from ${JSON.stringify(mod)};\n${code}\n`);
  const args = ["run", "--no-prompt", ...flags, script];
  const command = umask === undefined
    ? new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "inherit" })
    : new Deno.Command("sh", {
      args: ["-c", `umask ${umask} && exec "$@"`, "sh", Deno.execPath(), ...args],
      stdout: "piped",
      stderr: "inherit",
    });
  const { stdout } = await command.output();
  return new TextDecoder().decode(stdout).trim();
}

/**
 * `p`, or a rejection naming `what` if it has not settled within `ms`: a
 * generous bound that turns a hang into a failure.
 */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Connects raw Unix conns to `path` until the listener's backlog is full (EAGAIN). */
export async function fillBacklog(path: string): Promise<Deno.UnixConn[]> {
  const held: Deno.UnixConn[] = [];
  for (let i = 0; i < 100_000; i++) {
    try {
      held.push(await Deno.connect({ transport: "unix", path }));
    } catch (err) {
      if (err instanceof Deno.errors.WouldBlock) return held;
      for (const conn of held) conn.close();
      throw err;
    }
  }
  for (const conn of held) conn.close();
  throw new Error("the backlog never filled");
}

/** Sends one byte from a fresh client to the listener at `path`; proves it reachable. */
export async function assertReachable(listener: Listener<SocketConn>, path: string): Promise<void> {
  const dialing = connect({ transport: "unix", path, signal: AbortSignal.timeout(5000) });
  await using server = await listener.accept({ signal: AbortSignal.timeout(5000) });
  await using client = await dialing;
  await client.write(new Uint8Array([7]));
  assert.equal(await server.read(new Uint8Array(1)), 1);
}

/** Leaves a socket file behind the way a killed process does. */
export async function leaveStaleSocket(path: string): Promise<void> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `const l = Deno.listen({ transport: "unix", path: ${
        JSON.stringify(path)
      } }); console.log("up"); await l.accept();`,
    ],
    stdout: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  await reader.read();
  reader.releaseLock();
  child.kill("SIGKILL");
  await child.status;
  await child.stdout.cancel();
  assert.ok((await Deno.lstat(path)).isSocket, "the killed process left its socket file");
}

/** A Deno process running a snippet, spoken to in lines over its stdin and stdout. */
export interface Child {
  /** Writes `line` to its stdin. */
  send(line: string): Promise<void>;
  /** Its next line of output; fails naming `what` after `ms`. */
  next(what: string, ms?: number): Promise<string>;
  /** Closes its stdin and waits for it to exit. */
  end(): Promise<Deno.CommandStatus>;
  /** Kills it (if still running) and waits for it to exit. */
  kill(): Promise<void>;
}

/** The prologue of a child snippet: `t` is the library, `lines()` its stdin's lines, `say()` prints one. */
const CHILD_PROLOGUE = `
const say = (...values) => console.log(values.map((v) => typeof v === "string" ? v : JSON.stringify(v)).join(" "));
async function* lines() {
  let rest = "";
  for await (const text of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    rest += text;
    for (let i; (i = rest.indexOf("\\n")) !== -1; rest = rest.slice(i + 1)) yield rest.slice(0, i);
  }
}
`;

/**
 * Spawns a Deno process running `code` (see `CHILD_PROLOGUE` for what it
 * may use) with only `flags`; `shell`, if given, is a shell command run
 * first (such as `ulimit -n 64`), in the same process.
 */
export async function spawnChild(
  dir: string,
  flags: string[],
  code: string,
  options: { shell?: string } = {},
): Promise<Child> {
  const mod = new URL("../mod.ts", import.meta.url).href;
  const script = `${dir}/child-${crypto.randomUUID()}.ts`;
  await Deno.writeTextFile(
    script,
    `import * as t from ${JSON.stringify(mod)};\n${CHILD_PROLOGUE}\n${code}\n`,
  );
  const args = ["run", "--no-prompt", ...flags, script];
  const command = options.shell === undefined
    ? new Deno.Command(Deno.execPath(), { args, stdin: "piped", stdout: "piped", stderr: "inherit" })
    : new Deno.Command("bash", {
      args: ["-c", `${options.shell} && exec "$@"`, "bash", Deno.execPath(), ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    });
  const process = command.spawn();
  const writer = process.stdin.getWriter();
  const reader = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const encoder = new TextEncoder();
  let stdinOpen = true;
  return {
    send: (line) => writer.write(encoder.encode(`${line}\n`)),
    async next(what, ms = 30_000) {
      for (;;) {
        const newline = buffered.indexOf("\n");
        if (newline !== -1) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          return line;
        }
        const { value, done } = await within(reader.read(), ms, what);
        if (done) throw new Error(`${what}: the child exited first (after ${JSON.stringify(buffered)})`);
        buffered += value;
      }
    },
    async end() {
      if (stdinOpen) {
        stdinOpen = false;
        await writer.close().catch(() => {});
      }
      const status = await process.status;
      await reader.cancel().catch(() => {});
      return status;
    },
    async kill() {
      try {
        process.kill("SIGKILL");
      } catch {
        // Exited already.
      }
      if (stdinOpen) {
        stdinOpen = false;
        await writer.abort().catch(() => {});
      }
      await process.status;
      await reader.cancel().catch(() => {});
    },
  };
}
