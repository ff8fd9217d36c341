// ipc speaking golang-ipc's protocol (version 2) with a peer written in
// Python from ../shared/golang-ipc-protocol.md alone (tests/fixtures/
// golang_ipc_peer.py, with the `cryptography` package for P-384 and
// AES-GCM): handshakes byte for byte, encrypted and plain, a shared secret
// whose x-coordinate starts with a zero byte, and bad keys and frames.
import assert from "node:assert/strict";
import { ConnError, HandshakeError, ProtocolError } from "../mod.ts";
import { connectClient, serve } from "../ipc/mod.ts";
import { golangCipherKey } from "../ipc/_golang_protocol.ts";
import { decoder, encoder, nextError, nextStatus, uniqueName } from "./ipc_helpers.ts";

const PEER = new URL("./fixtures/golang_ipc_peer.py", import.meta.url).pathname;

function python(args: string[]) {
  const child = new Deno.Command("python3", { args: [PEER, ...args], stdout: "piped", stderr: "piped" })
    .spawn();
  return {
    child,
    async output(): Promise<string[]> {
      const { stdout, stderr, code } = await child.output();
      assert.equal(code, 0, decoder.decode(stderr));
      return decoder.decode(stdout).trim().split("\n");
    },
  };
}

async function hash(data: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>));
  return Array.from(digest.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Starts the Python server; resolves once it listens. */
async function pythonServer(path: string, enc: boolean, maxSize: number) {
  const child = new Deno.Command("python3", {
    args: [PEER, "server", path, enc ? "1" : "0", String(maxSize)],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("ready\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`python server did not start: ${text}`);
    text += value;
  }
  return {
    async rest(): Promise<string[]> {
      for (let chunk; !(chunk = await reader.read()).done;) text += chunk.value;
      const { code } = await child.status;
      await child.stderr.cancel();
      assert.equal(code, 0);
      return text.trim().split("\n").slice(1);
    },
  };
}

for (const encryption of [true, false]) {
  Deno.test(`a tether client joins a golang-ipc server (Python, from the document) and messages match byte for byte (encryption: ${encryption})`, async () => {
    const name = uniqueName("g");
    const peer = await pythonServer(`/tmp/${name}.sock`, encryption, 2048);
    const client = connectClient({ name, protocol: "golang-ipc", encryption, timeout: 10_000 });
    await client.ready;
    assert.equal(client.addr.address, `/tmp/${name}.sock`, "golang-ipc's own socket path");
    assert.equal(client.maxMessageSize, 2048, "the size the server announced");
    const sent = [
      { type: 1, data: encoder.encode("hello") },
      { type: 0xffff_ffff, data: new Uint8Array(0) },
      { type: 42, data: crypto.getRandomValues(new Uint8Array(2048)) },
    ];
    for (const m of sent) await client.write(m.type, m.data);
    await assert.rejects(client.write(1, new Uint8Array(2049)), /message too large/);
    for (const m of sent) {
      const echo = await client.read();
      assert.equal(echo.type, m.type);
      assert.deepEqual(echo.data, m.data);
    }
    client.close();
    const lines = await peer.rest();
    assert.deepEqual(lines, [
      "handshake ok 00",
      ...await Promise.all(sent.map(async (m) => `msg ${m.type} ${m.data.length} ${await hash(m.data)}`)),
      "eof",
    ]);
  });
}

Deno.test("a golang-ipc client (Python) joins a tether server, with a shared x-coordinate that starts with a zero byte", async () => {
  const name = uniqueName("g");
  await using server = await serve({ name, protocol: "golang-ipc", maxMessageSize: 100_000 });
  assert.equal(server.addr.address, `/tmp/${name}.sock`);
  const serving = (async () => {
    for await (const { client, message } of server) await client.write(message.type, message.data);
  })();
  const lines = await python(["client", server.addr.address, "enc-zero"]).output();
  assert.match(lines[0], /^x starts with zero after \d+ keys$/);
  assert.deepEqual(lines.slice(1), ["max 100000", "echo ok"]);
  server.close();
  await serving;
});

Deno.test("a plain golang-ipc client joins a plain tether server; one that requires encryption is refused with a clear error", async () => {
  const name = uniqueName("g");
  await using server = await serve({ name, protocol: "golang-ipc", encryption: false });
  const serving = (async () => {
    for await (const { client, message } of server) await client.write(message.type, message.data);
  })();
  assert.deepEqual(await python(["client", server.addr.address, "plain"]).output(), [
    "max 3145728",
    "echo ok",
  ]);
  const refused = nextError(server);
  assert.deepEqual(await python(["client", server.addr.address, "require-enc"]).output(), [
    "refused plain server",
  ]);
  const err = await refused;
  assert.ok(err instanceof HandshakeError);
  assert.match((err as Error).message, /the client refused: it requires encryption/);
  server.close();
  await serving;
});

Deno.test("a tether client that requires encryption refuses a plain golang-ipc server (reply code 2)", async () => {
  const name = uniqueName("g");
  const peer = await pythonServer(`/tmp/${name}.sock`, false, 4096);
  await using client = connectClient({ name, protocol: "golang-ipc" });
  const err = await client.ready.catch((e) => e);
  assert.ok(err instanceof HandshakeError);
  assert.match(err.message, /does not encrypt, and this client requires it/);
  assert.deepEqual(await peer.rest(), ["reply 2"]);
});

Deno.test("bad keys and short frames from a golang-ipc client are typed errors; the server carries on", async () => {
  const name = uniqueName("g");
  await using server = await serve({
    name,
    protocol: "golang-ipc",
    multiClient: true,
    handshakeTimeout: 300,
  });
  for (const mode of ["badkey-zeros", "badkey-03", "badkey-short"]) {
    const failed = nextError(server);
    assert.deepEqual(await python(["client", server.addr.address, mode]).output(), ["closed"], mode);
    const err = await failed;
    if (mode === "badkey-short") {
      // 65 bytes, then silence: dropped at the handshake deadline.
      assert.ok(err instanceof ConnError && err.timeout, `${mode}: ${err}`);
    } else {
      assert.ok(err instanceof HandshakeError, `${mode}: ${err}`);
      assert.match((err as Error).message, /not a 97-byte uncompressed P-384 point|not a point on P-384/);
    }
  }
  const plainName = uniqueName("g");
  await using plain = await serve({ name: plainName, protocol: "golang-ipc", encryption: false });
  const closed = nextStatus(plain, "closed");
  assert.deepEqual(await python(["client", plain.addr.address, "short-frame"]).output(), [
    "max 3145728",
    "closed",
  ]);
  const event = await closed;
  assert.ok(event.error instanceof ProtocolError, String(event.error));
  assert.match((event.error as Error).message, /no room for its 4-byte message type/);
  // Both servers still serve.
  const serving = (async () => {
    for await (const { client, message } of server) await client.write(message.type, message.data);
  })();
  assert.deepEqual(await python(["client", server.addr.address, "enc"]).output(), ["max 3145728", "echo ok"]);
  server.close();
  await serving;
});

Deno.test("golang-ipc's key derivation hashes the x-coordinate without its leading zero bytes", async () => {
  const x = new Uint8Array(48);
  x.set([0, 0, 7, 1, 2], 0);
  const stripped = new Uint8Array(await crypto.subtle.digest("SHA-256", x.slice(2)));
  assert.deepEqual(await golangCipherKey(x), stripped);
  assert.notDeepEqual(await golangCipherKey(x), new Uint8Array(await crypto.subtle.digest("SHA-256", x)));
});
