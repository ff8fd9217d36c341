/**
 * TCP addresses as structured values (IPv6 included), and the TCP socket
 * options: what a user of `Deno.TcpConn` expects of a tether TCP conn.
 */
import assert from "node:assert/strict";
import { connect, listen } from "../mod.ts";
import { inTempDir } from "./socket_helpers.ts";

/** Fails, saying so, where this machine has no IPv6 loopback, rather than passing without a look. */
function requireIpv6Loopback(): void {
  try {
    Deno.listen({ transport: "tcp", hostname: "::1", port: 0 }).close();
  } catch (err) {
    throw new Error(`IPv6 loopback (::1) is not available on this machine, so IPv6 can't be checked: ${err}`);
  }
}

Deno.test("an IPv6 listener's addr has hostname ::1, its port, and address [::1]:port; connecting with those fields works", async () => {
  requireIpv6Loopback();
  await using listener = await listen({ transport: "tcp", hostname: "::1", port: 0 });
  const { hostname, port, address } = listener.addr;
  assert.equal(hostname, "::1");
  assert.ok(Number.isInteger(port) && port > 0, `port ${port}`);
  assert.equal(address, `[::1]:${port}`);
  const dialing = connect({ transport: "tcp", hostname, port });
  await using server = await listener.accept();
  await using client = await dialing;
  assert.deepEqual(client.remoteAddr, { transport: "tcp", address: `[::1]:${port}`, hostname: "::1", port });
  assert.equal(client.localAddr.hostname, "::1");
  assert.ok(client.localAddr.port! > 0);
  assert.equal(client.localAddr.address, `[::1]:${client.localAddr.port}`);
  assert.deepEqual(server.remoteAddr, client.localAddr, "the server sees the client's address");
  assert.deepEqual(server.localAddr, client.remoteAddr);
  await client.write(new Uint8Array([6]));
  assert.equal(await server.read(new Uint8Array(1)), 1);
});

Deno.test("a bracketed IPv6 host, as written in a URL, connects too", async () => {
  requireIpv6Loopback();
  await using listener = await listen({ transport: "tcp", hostname: "[::1]", port: 0 });
  assert.equal(listener.addr.hostname, "::1");
  const dialing = connect({ transport: "tcp", hostname: "[::1]", port: listener.addr.port });
  await using _server = await listener.accept();
  await using client = await dialing;
  assert.equal(client.remoteAddr.hostname, "::1");
});

Deno.test("accepted conns on a listener for every interface carry the address they came in on", async () => {
  await using listener = await listen({ transport: "tcp", port: 0 });
  assert.equal(listener.addr.hostname, "0.0.0.0");
  const dialing = connect({ transport: "tcp", hostname: "127.0.0.1", port: listener.addr.port });
  await using server = await listener.accept();
  await using client = await dialing;
  assert.deepEqual(server.localAddr, {
    transport: "tcp",
    address: `127.0.0.1:${listener.addr.port}`,
    hostname: "127.0.0.1",
    port: listener.addr.port,
  });
  assert.deepEqual(server.remoteAddr, client.localAddr);
});

Deno.test("a host name connects, and remoteAddr is the address it resolved to, as with Deno's own conns", async () => {
  await using listener = await listen({ transport: "tcp", hostname: "127.0.0.1", port: 0 });
  const dialing = connect({ transport: "tcp", hostname: "localhost", port: listener.addr.port });
  await using _server = await listener.accept();
  await using client = await dialing;
  assert.equal(client.remoteAddr.hostname, "127.0.0.1");
  assert.equal(client.remoteAddr.port, listener.addr.port);
});

Deno.test("connecting to port 0 is a RangeError that says to use the port the listener reports", async () => {
  const err = await connect({ transport: "tcp", hostname: "127.0.0.1", port: 0 }).catch((e) => e);
  assert.ok(err instanceof RangeError, String(err));
  assert.match(err.message, /port 0 can't be connected to/);
  assert.match(err.message, /addr\.port/);
});

/** What `setsockopt` calls a snippet makes, from strace. */
async function setsockopts(dir: string, code: string): Promise<string[]> {
  const trace = `${dir}/trace-${crypto.randomUUID()}`;
  const script = `${dir}/options-${crypto.randomUUID()}.ts`;
  const mod = new URL("../mod.ts", import.meta.url).href;
  await Deno.writeTextFile(script, `import * as t from ${JSON.stringify(mod)};\n${code}\n`);
  const { success, stdout } = await new Deno.Command("strace", {
    args: ["-f", "-e", "trace=setsockopt", "-o", trace, Deno.execPath(), "run", "-A", script],
    stdout: "piped",
  }).output().catch((err) => {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    throw new Error(
      "this test watches the socket options with strace: install it (apt-get install -y strace)",
    );
  });
  assert.ok(success, "the snippet ran");
  assert.equal(new TextDecoder().decode(stdout).trim(), "done");
  // Only the calls made once the conn exists: the listener sets its own options before.
  const lines = (await Deno.readTextFile(trace)).split("\n");
  return lines.filter((line) => /TCP_NODELAY|SO_KEEPALIVE/.test(line)).map((line) =>
    line.replace(/^\d+\s+setsockopt\(\d+, /, "").replace(/, 4\) = 0$/, "")
  );
}

const OPTIONS_SNIPPET = (listen: string, connect: string) => `
await using listener = await t.listen(${listen});
const dialing = t.connect(${connect});
await using server = await listener.accept();
await using client = await dialing;
client.setNoDelay(false);
client.setNoDelay();
client.setKeepAlive();
client.setKeepAlive(false);
client.setNoDelay(true);
await client.write(new Uint8Array([1]));
await server.read(new Uint8Array(1));
console.log("done");`;

Deno.test("setNoDelay and setKeepAlive set TCP_NODELAY and SO_KEEPALIVE on a TCP conn", async () => {
  await inTempDir(async (dir) => {
    const calls = await setsockopts(
      dir,
      OPTIONS_SNIPPET(
        `{ transport: "tcp", hostname: "127.0.0.1", port: 0 }`,
        `{ transport: "tcp", hostname: "127.0.0.1", port: listener.addr.port }`,
      ),
    );
    assert.deepEqual(calls, [
      "SOL_TCP, TCP_NODELAY, [0]",
      "SOL_TCP, TCP_NODELAY, [1]",
      "SOL_SOCKET, SO_KEEPALIVE, [1]",
      "SOL_SOCKET, SO_KEEPALIVE, [0]",
      "SOL_TCP, TCP_NODELAY, [1]",
    ]);
  });
});

Deno.test("setNoDelay and setKeepAlive do nothing on a Unix conn, and the conn works on", async () => {
  await inTempDir(async (dir) => {
    const path = JSON.stringify(`${dir}/options.sock`);
    const calls = await setsockopts(
      dir,
      OPTIONS_SNIPPET(`{ transport: "unix", path: ${path} }`, `{ transport: "unix", path: ${path} }`),
    );
    assert.deepEqual(calls, []);
  });
});
