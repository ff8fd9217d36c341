// A peer this project did not write (Python's socket module) on the other
// end of a Unix socket, in both directions.
import assert from "node:assert/strict";
import { type Conn, connect, listen } from "../mod.ts";

const SIZE = 1024 * 1024;
const payload = Uint8Array.from({ length: SIZE }, (_, i) => (i * 7) % 251);

/** Reads until EOF, failing on more than `limit` bytes. */
async function readAll(conn: Conn, limit: number): Promise<Uint8Array> {
  const all = new Uint8Array(limit);
  let n = 0;
  for (let k; n < limit && (k = await conn.read(all.subarray(n))) !== null;) n += k;
  assert.equal(await conn.read(new Uint8Array(1)), null, "EOF after the expected bytes");
  return all.subarray(0, n);
}

/** Python sends SIZE bytes of the same pattern, half-closes, and checks the echo. */
const PY_CLIENT = `
import socket, sys
data = bytes((i * 7) % 251 for i in range(${SIZE}))
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(data)
s.shutdown(socket.SHUT_WR)
got = bytearray()
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    got += chunk
s.close()
print("match" if bytes(got) == data else "mismatch %d" % len(got))
`;

/** Python listens, prints "ready", and echoes one connection until EOF. */
const PY_ECHO_SERVER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(1)
print("ready", flush=True)
c, _ = s.accept()
while True:
    chunk = c.recv(65536)
    if not chunk:
        break
    c.sendall(chunk)
c.close()
s.close()
`;

Deno.test("python3's socket module talks to a tether unix listener and the bytes match", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/py.sock`;
  try {
    await using listener = await listen({ transport: "unix", path });
    const python = new Deno.Command("python3", { args: ["-c", PY_CLIENT, path], stdout: "piped" }).output();
    await using conn = await listener.accept({ signal: AbortSignal.timeout(10_000) });
    // Python sends everything before it reads, so take it all, then answer.
    const received = await readAll(conn, SIZE);
    assert.deepEqual(received, payload);
    await conn.write(received);
    await conn.closeWrite();
    const { stdout, success } = await python;
    assert.ok(success);
    assert.equal(new TextDecoder().decode(stdout).trim(), "match");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a tether unix conn talks to a python3 socket listener and the bytes match", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/py.sock`;
  const python = new Deno.Command("python3", { args: ["-c", PY_ECHO_SERVER, path], stdout: "piped" }).spawn();
  try {
    const reader = python.stdout.getReader();
    assert.equal(new TextDecoder().decode((await reader.read()).value).trim(), "ready");
    reader.releaseLock();
    await using conn = await connect({ transport: "unix", path, signal: AbortSignal.timeout(10_000) });
    const writing = (async () => {
      await conn.write(payload);
      await conn.closeWrite();
    })();
    const echoed = await new Response(conn.readable).bytes();
    await writing;
    assert.equal(echoed.byteLength, SIZE);
    assert.deepEqual(echoed, payload);
    assert.ok((await python.status).success);
  } finally {
    await python.stdout.cancel();
    await python.status;
    await Deno.remove(dir, { recursive: true });
  }
});
