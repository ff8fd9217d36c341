import assert from "node:assert/strict";
import { connect, dialer, listen, pipe } from "../mod.ts";
import { mux } from "../mux/mod.ts";
import { secureDialer, secureListener } from "../crypto/mod.ts";
import { createFetch, serveHttp } from "../http/mod.ts";
import { app, fnv1a, pattern } from "./fixtures/http_app.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Runs curl (a client nobody here wrote) and returns what it printed. */
async function curl(...args: string[]): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command("curl", {
    args: ["--silent", "--show-error", ...args],
  })
    .output();
  assert.equal(code, 0, `curl ${args.join(" ")}: ${decoder.decode(stderr)}`);
  return decoder.decode(stdout);
}

async function withUnixServer(run: (path: string, dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/app.sock`;
  const server = serveHttp(await listen({ transport: "unix", path }), app(), {
    onError: () => new Response("failed", { status: 500 }),
  });
  try {
    await run(path, dir);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("curl --unix-socket gets JSON, HEAD, a streamed body, an upload's checksum and a 500", async () => {
  await withUnixServer(async (path, dir) => {
    assert.deepEqual(JSON.parse(await curl("--unix-socket", path, "http://app/hello?name=curl")), {
      hello: "curl",
    });
    const head = await curl("--unix-socket", path, "--head", "http://app/hello");
    assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(head, /content-length: 17\r\n/i);
    assert.equal(
      await curl("--unix-socket", path, "http://app/stream?lines=4"),
      "line 1\nline 2\nline 3\nline 4\n",
    );
    const created = await curl(
      "--unix-socket",
      path,
      "--include",
      "--data-binary",
      JSON.stringify({ name: "from curl" }),
      "http://app/items",
    );
    assert.match(created, /^HTTP\/1\.1 201 Created\r\n/);
    assert.match(created, /location: \/items\/1\r\n/i);
    const size = 8 * 1024 * 1024;
    const file = `${dir}/upload.bin`;
    using out = await Deno.open(file, { write: true, create: true });
    for (const chunk of pattern(size)) await out.write(chunk);
    const uploaded = JSON.parse(
      await curl("--unix-socket", path, "--data-binary", `@${file}`, "http://app/upload"),
    );
    assert.deepEqual(uploaded, { bytes: size, fnv1a: fnv1a(pattern(size)) });
    const failed = await curl("--unix-socket", path, "--write-out", " %{http_code}", "http://app/throw");
    assert.equal(failed, "failed 500");
  });
});

Deno.test("Deno's own fetch, through Deno.createHttpClient on the Unix socket, gets the same answers", async () => {
  await withUnixServer(async (path) => {
    using client = Deno.createHttpClient({ proxy: { transport: "unix", path } });
    const hello = await fetch("http://app/hello", { client });
    assert.deepEqual(await hello.json(), { hello: "world" });
    const streamed = await fetch("http://app/stream?lines=2", { client });
    assert.equal(await streamed.text(), "line 1\nline 2\n");
    const size = 4 * 1024 * 1024;
    const upload = await fetch("http://app/upload", {
      client,
      method: "POST",
      body: ReadableStream.from(pattern(size)),
    });
    assert.deepEqual(await upload.json(), { bytes: size, fnv1a: fnv1a(pattern(size)) });
    for (let i = 0; i < 50; i++) await (await fetch("http://app/hello", { client })).arrayBuffer();
    const head = await fetch("http://app/hello", { client, method: "HEAD" });
    assert.equal(head.headers.get("content-length"), "17");
  });
});

Deno.test("createFetch over the Unix socket, and a malformed request there gets a 400 while curl carries on", async () => {
  await withUnixServer(async (path) => {
    await using fetch = createFetch({ transport: "unix", path });
    assert.deepEqual(await (await fetch("http://app/whoami")).json(), { transport: "unix", host: "app" });
    {
      await using conn = await connect({ transport: "unix", path });
      await conn.write(encoder.encode("BLAH\r\n\r\n"));
      const answer = decoder.decode(await new Response(conn.readable).bytes());
      assert.match(answer, /^HTTP\/1\.1 400 Bad Request\r\n/);
    }
    assert.deepEqual(JSON.parse(await curl("--unix-socket", path, "http://app/hello")), { hello: "world" });
  });
});

Deno.test("over TCP, the platform's fetch is answered", async () => {
  await using server = serveHttp(await listen({ transport: "tcp", hostname: "127.0.0.1", port: 0 }), app());
  const base = `http://127.0.0.1:${server.addr.port}`;
  assert.deepEqual(await (await fetch(`${base}/hello`)).json(), { hello: "world" });
  const whoami = await (await fetch(`${base}/whoami`)).json();
  assert.deepEqual(whoami, { transport: "tcp", host: `127.0.0.1:${server.addr.port}` });
});

Deno.test("a fixture's fetch works the same over TCP, Unix and pipe listeners as over memory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const listeners = [
      listen({ transport: "memory" }),
      await listen({ transport: "tcp", port: 0 }),
      await listen({ transport: "unix", path: `${dir}/app.sock` }),
      await listen({ transport: "pipe", path: `\\\\.\\pipe\\tether-http-${crypto.randomUUID()}` }),
    ];
    for (const listener of listeners) {
      await using fixture = serveHttp(listener, app());
      const res = await fixture.fetch("http://app/hello?name=fixture");
      assert.deepEqual(await res.json(), { hello: "fixture" }, listener.addr.transport);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serveHttp over a secureListener on a Unix socket, fetched through a secureDialer", async () => {
  const psk = crypto.getRandomValues(new Uint8Array(32));
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/secure.sock`;
    const inner = await listen({ transport: "unix", path });
    await using _server = serveHttp(secureListener(inner, { pattern: "NNpsk0", psk }), app());
    await using fetch = createFetch(
      secureDialer(dialer({ transport: "unix", path }), { pattern: "NNpsk0", psk }),
    );
    assert.deepEqual(await (await fetch("http://secure/hello")).json(), { hello: "world" });
    const size = 2 * 1024 * 1024;
    const upload = await fetch(
      "http://secure/upload",
      { method: "POST", body: ReadableStream.from(pattern(size)), duplex: "half" } as RequestInit,
    );
    assert.deepEqual(await upload.json(), { bytes: size, fnv1a: fnv1a(pattern(size)) });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("over a named pipe, createFetch is answered", async () => {
  const path = `\\\\.\\pipe\\tether-http-${crypto.randomUUID()}`;
  await using _server = serveHttp(await listen({ transport: "pipe", path }), app());
  await using fetch = createFetch({ transport: "pipe", path });
  assert.deepEqual(await (await fetch("http://app/hello?name=pipe")).json(), { hello: "pipe" });
  assert.equal(await (await fetch("http://app/stream?lines=1")).text(), "line 1\n");
});

Deno.test("serveHttp over a mux session: each request rides a stream of one conn", async () => {
  const [a, b] = pipe();
  await using serverSession = mux(b, { role: "server" });
  await using clientSession = mux(a, { role: "client" });
  await using _server = serveHttp(serverSession, app());
  await using fetch = createFetch(clientSession.dialer());
  const answers = await Promise.all(
    Array.from({ length: 4 }, (_, i) => fetch(`http://mux/hello?name=${i}`).then((res) => res.json())),
  );
  assert.deepEqual(answers, [0, 1, 2, 3].map((i) => ({ hello: `${i}` })));
  const size = 4 * 1024 * 1024;
  const upload = await fetch("http://mux/upload", {
    method: "POST",
    body: ReadableStream.from(pattern(size)),
    duplex: "half",
  } as RequestInit);
  assert.deepEqual(await upload.json(), { bytes: size, fnv1a: fnv1a(pattern(size)) });
  assert.ok(serverSession.streams >= 1);
});
