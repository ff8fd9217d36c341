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
