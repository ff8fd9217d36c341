import assert from "node:assert/strict";
import { ConnClosedError, connect } from "../mod.ts";
import { spawnReady } from "./socket_helpers.ts";

const ECHO = new URL("./fixtures/unix_echo.ts", import.meta.url).pathname;
const SIZE = 64 * 1024 * 1024;
const CHUNK = 64 * 1024;

async function stop(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGKILL");
  } catch {
    // Exited already.
  }
  await child.status;
  await child.stdout.cancel();
}

/** Bytes that differ at every offset, so a gap or a reordering shows. */
function pattern(offset: number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = ((offset + i) * 31) % 251;
  return bytes;
}

type Outcome<T> = { value: T } | { error: unknown };

/** How `p` ends; fails the test if it takes over a second. */
function within1s<T>(p: Promise<T>): Promise<Outcome<T>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("hung for over a second")), 1000);
  });
  return Promise.race([p.then((value) => ({ value }), (error) => ({ error })), hang])
    .finally(() => clearTimeout(timer));
}

function endedCleanly(outcome: Outcome<number | null>): boolean {
  return "value" in outcome ? outcome.value === null : outcome.error instanceof ConnClosedError;
}

Deno.test("a second Deno process echoes 64 MiB both ways over a Unix socket", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/echo.sock`;
  const child = await spawnReady(ECHO, path);
  try {
    await using conn = await connect({ transport: "unix", path, signal: AbortSignal.timeout(10_000) });
    const writing = (async () => {
      for (let off = 0; off < SIZE; off += CHUNK) await conn.write(pattern(off, CHUNK));
      await conn.closeWrite();
    })();
    const buf = new Uint8Array(CHUNK);
    let received = 0;
    for (let n; (n = await conn.read(buf)) !== null; received += n) {
      assert.deepEqual(buf.subarray(0, n), pattern(received, n), `bytes at ${received}`);
    }
    await writing;
    assert.equal(received, SIZE);
  } finally {
    await stop(child);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SIGKILL of the peer mid-transfer ends pending and later calls within a second", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/echo.sock`;
  const child = await spawnReady(ECHO, path);
  const unhandled: unknown[] = [];
  const onUnhandled = (e: PromiseRejectionEvent) => {
    unhandled.push(e.reason);
    e.preventDefault();
  };
  globalThis.addEventListener("unhandledrejection", onUnhandled);
  const conn = await connect({ transport: "unix", path, signal: AbortSignal.timeout(10_000) });
  try {
    // Write without reading back: both directions fill up, so calls are
    // pending in the adapter and in the kernel when the peer dies.
    const block = new Uint8Array(256 * 1024);
    // Observed from the start, so its rejection is handled when it comes.
    const writes = within1s((async () => {
      while (true) await conn.write(block);
    })());
    const buf = new Uint8Array(CHUNK);
    assert.notEqual(await conn.read(buf), null, "the echo is flowing");
    await new Promise((resolve) => setTimeout(resolve, 100));
    const pendingRead = within1s(conn.read(buf));
    child.kill("SIGKILL");
    await child.status;

    const write = await writes;
    assert.ok(
      "error" in write && write.error instanceof ConnClosedError,
      `write ended with ${String(write)}`,
    );
    // Reads get what the echo sent before it died, then EOF or ConnClosedError.
    let read = await pendingRead;
    while ("value" in read && read.value !== null) read = await within1s(conn.read(buf));
    assert.ok(endedCleanly(read), `read ended with ${JSON.stringify(read)}`);

    const laterWrite = await within1s(conn.write(block));
    assert.ok("error" in laterWrite && laterWrite.error instanceof ConnClosedError);
    assert.ok(endedCleanly(await within1s(conn.read(buf))));
    await new Promise((resolve) => setTimeout(resolve, 50)); // let stray rejections surface
    assert.deepEqual(unhandled, []);
  } finally {
    globalThis.removeEventListener("unhandledrejection", onUnhandled);
    conn.close();
    await conn.closed;
    await stop(child);
    await Deno.remove(dir, { recursive: true });
  }
});
