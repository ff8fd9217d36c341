import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { Redis } from "ioredis";
import { virtualNetwork } from "../vnet/mod.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A real redis-server on a Unix socket in a temp dir, no TCP port (`--port 0`). */
async function startRedis(): Promise<{ path: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "tether-redis-" });
  const path = `${dir}/redis.sock`;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("redis-server", {
      args: ["--port", "0", "--unixsocket", path, "--save", "", "--appendonly", "no", "--dir", dir],
      stdout: "null",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    throw new Error("redis-server is not installed: apt-get install redis-server (.ci/run does)", {
      cause: err,
    });
  }
  for (let i = 0; i < 500; i++) {
    if (await Deno.stat(path).then(() => true, () => false)) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  return {
    path,
    async [Symbol.asyncDispose]() {
      child.kill("SIGTERM");
      await child.status;
      await child.stderr.cancel();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("ioredis, unmodified, talks to a real redis-server through a route to its Unix socket", async () => {
  await using redis = await startRedis();
  await using net = virtualNetwork({ seed: 6379 });
  using _route = net.route({ hostname: "redis.internal", port: 6379 }, {
    transport: "unix",
    path: redis.path,
  });
  const client = new Redis({ host: "redis.internal", port: 6379, maxRetriesPerRequest: 3 });
  try {
    assert.equal(await client.set("greeting", "hello"), "OK");
    assert.equal(await client.get("greeting"), "hello");
    const results = await client.pipeline().incr("n").incr("n").incrby("n", 40).exec();
    assert.deepEqual(results!.map(([, value]: [unknown, unknown]) => value), [1, 2, 42]);
    // The server itself says its client came in on the Unix socket: the bytes really went there.
    const clients = await client.client("LIST") as string;
    assert.match(clients, new RegExp(`addr=${redis.path.replaceAll("/", "\\/")}`));
    assert.equal(client.stream.remotePort, 6379);
  } finally {
    await client.quit();
  }
});

Deno.test("ioredis rides out a reset fault on its route: it reconnects and its next command succeeds", async () => {
  await using redis = await startRedis();
  await using net = virtualNetwork({ seed: 7 });
  using _route = net.route({ hostname: "redis.internal", port: 6379 }, {
    transport: "unix",
    path: redis.path,
  });
  const client = new Redis({ host: "redis.internal", port: 6379, retryStrategy: () => 10 });
  const errors: string[] = [];
  client.on("error", (err: Error & { code?: string }) => errors.push(err.code ?? err.message));
  let reconnects = 0;
  client.on("reconnecting", () => reconnects++);
  await client.set("k", "before");
  const made = net.connections;
  // The live connection is reset at once, and every reconnect as soon as it is made.
  const reset = net.fault({ hostname: "redis.internal" }, { type: "reset", afterBytes: 0 });
  const pending = client.get("k"); // queued by ioredis while it reconnects
  while (reconnects < 3) await new Promise((r) => setTimeout(r, 5));
  // ioredis says "reconnecting" before it dials (retryStrategy's 10 ms later):
  // each of those reconnects makes a new connection, within a generous wait.
  for (let waited = 0; net.connections < made + 3 && waited < 5000; waited += 5) {
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.ok(net.connections >= made + 3, "each reconnect was a new connection");
  reset.remove();
  assert.equal(await pending, "before");
  assert.ok(errors.includes("ECONNRESET"), errors.join());
  await client.quit();
});

Deno.test("node:net's createServer listens virtually and answers Deno.connect and net.connect", async () => {
  await using _net = virtualNetwork();
  const server = net.createServer((socket) => {
    socket.on("data", (data) => socket.write(`echo:${data}`));
    socket.on("end", () => socket.end());
  });
  await new Promise<void>((resolve) => server.listen(0, "localhost", resolve));
  assert.equal(server.listening, true);
  const { port, address, family } = server.address() as net.AddressInfo;
  assert.deepEqual([address, family], ["127.0.0.1", "IPv4"]);

  const conn = await Deno.connect({ hostname: "localhost", port });
  await conn.write(encoder.encode("from deno"));
  const buf = new Uint8Array(64);
  assert.equal(decoder.decode(buf.subarray(0, (await conn.read(buf))!)), "echo:from deno");

  const socket = net.connect({ port, host: "127.0.0.1" });
  await new Promise((resolve) => socket.once("connect", resolve));
  assert.equal(socket.remotePort, port);
  socket.write("from node");
  const [reply] = await Promise.all([new Promise((resolve) => socket.once("data", resolve))]);
  assert.equal(String(reply), "echo:from node");
  const count = await new Promise((resolve) => server.getConnections((_err, n) => resolve(n)));
  assert.equal(count, 2);

  socket.end();
  conn.close();
  await new Promise((resolve) => server.close(resolve));
  assert.equal(server.listening, false);
  await assert.rejects(Deno.connect({ hostname: "localhost", port }), Deno.errors.ConnectionRefused);
});

Deno.test("a node:net connect that nobody answers fails as Node's do: ECONNREFUSED with address and port", async () => {
  await using _net = virtualNetwork();
  const socket = net.createConnection({ host: "db.internal", port: 5432 });
  const err = await new Promise<Error & Record<string, unknown>>((resolve) => socket.once("error", resolve));
  assert.equal(err.code, "ECONNREFUSED");
  assert.equal(err.syscall, "connect");
  assert.equal(err.address, "db.internal");
  assert.equal(err.port, 5432);
  assert.match(err.message, /^connect ECONNREFUSED db\.internal:5432/);
  const server = net.createServer();
  server.listen(5432, "db.internal");
  await new Promise((resolve) => server.once("listening", resolve));
  const second = net.createServer().listen(5432, "db.internal");
  const inUse = await new Promise<Error & { code?: string }>((resolve) => second.once("error", resolve));
  assert.equal(inUse.code, "EADDRINUSE");
  server.close();
});

Deno.test("a node:net socket's idle timeout fires when the peer stalls, so a client can give up", async () => {
  await using net_ = virtualNetwork();
  using fake = net_.listen({ hostname: "slow.internal", port: 80 });
  using _stall = net_.fault({ hostname: "slow.internal" }, { type: "stall", direction: "toClient" });
  const serving = (async () => {
    await using conn = await fake.accept();
    await conn.write(encoder.encode("this never arrives"));
    await conn.read(new Uint8Array(1)).catch(() => null);
  })();
  const socket = net.connect(80, "slow.internal");
  socket.setTimeout(50);
  const outcome = await new Promise((resolve) => {
    socket.once("data", () => resolve("data"));
    socket.once("timeout", () => {
      socket.destroy();
      resolve("timed out");
    });
  });
  assert.equal(outcome, "timed out");
  await serving;
});

Deno.test("a node:http server and a node:http client, as npm frameworks and clients use them, meet virtually", async () => {
  await using net_ = virtualNetwork();
  // The code under test: a node:http app on port 3000, as an express app would be.
  const app = http.createServer((req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ url: req.url, host: req.headers.host }));
  });
  await new Promise<void>((resolve) => app.listen(3000, resolve));
  assert.equal(app.listening, true);
  assert.equal((app.address() as net.AddressInfo).port, 3000);
  // A node:http client (what axios and friends use) with a keep-alive agent.
  const agent = new http.Agent({ keepAlive: true });
  const get = (path: string) =>
    new Promise<unknown>((resolve, reject) => {
      http.get({ host: "localhost", port: 3000, path, agent }, (res) => {
        let body = "";
        res.on("data", (chunk) => body += chunk);
        res.on("end", () => resolve(JSON.parse(body)));
      }).on("error", reject);
    });
  assert.deepEqual(await get("/a"), { url: "/a", host: "localhost:3000" });
  assert.deepEqual(await get("/b"), { url: "/b", host: "localhost:3000" });
  assert.equal(net_.connections, 1, "the agent kept its connection alive");
  // fetch reaches the node:http server too, and Deno.serve is reached by node:http.
  assert.deepEqual(await (await fetch("http://127.0.0.1:3000/c")).json(), {
    url: "/c",
    host: "127.0.0.1:3000",
  });
  const refused = await new Promise<Error & { code?: string }>((resolve) => {
    http.get({ host: "localhost", port: 3001 }).on("error", resolve);
  });
  assert.equal(refused.code, "ECONNREFUSED");
  agent.destroy();
  await new Promise((resolve) => app.close(resolve));
});
