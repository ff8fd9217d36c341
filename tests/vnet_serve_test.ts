import assert from "node:assert/strict";
import { virtualNetwork } from "../vnet/mod.ts";
import { handler } from "./fixtures/vnet_app.ts";

Deno.test("a production Deno.serve app answers the test's fetch in a process with no --allow-net at all", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    // No permission flags: the child can neither open a port nor reach one.
    args: [
      "run",
      "--no-prompt",
      "--no-check",
      new URL("./fixtures/vnet_no_net.ts", import.meta.url).pathname,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(stderr);
  assert.equal(code, 0, err);
  const seen = JSON.parse(new TextDecoder().decode(stdout));
  assert.deepEqual(seen.addr, { hostname: "0.0.0.0", port: 8000, transport: "tcp" });
  assert.deepEqual(seen.health, { status: "ok" });
  assert.deepEqual(seen.created, {
    status: 201,
    location: "/todos/1",
    body: { id: 1, title: "write tests", done: false },
  });
  assert.deepEqual(seen.patched, { id: 1, title: "write tests", done: true });
  assert.equal(seen.missing, 404);
  // The same process, outside the network: no permission to reach or open a port.
  assert.equal(seen.outside, "NotCapable");
  assert.equal(seen.listenOutside, "NotCapable");
  assert.match(err, /Listening on http:\/\/0\.0\.0\.0:8000\/ .*on the virtual network/);
});

Deno.test("Deno.serve on port 0 reports its virtual port through onListen and addr", async () => {
  await using _net = virtualNetwork();
  let announced: Deno.NetAddr | undefined;
  await using server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: (addr) => announced = addr },
    handler,
  );
  assert.deepEqual(announced, server.addr);
  assert.ok(server.addr.port > 0);
  const res = await fetch(`http://127.0.0.1:${server.addr.port}/health`);
  assert.deepEqual(await res.json(), { status: "ok" });
});

Deno.test("the handler gets Deno's info: the client's NetAddr, and completed once the response is sent", async () => {
  await using _net = virtualNetwork();
  let info: Deno.ServeHandlerInfo<Deno.NetAddr> | undefined;
  await using _server = Deno.serve({ port: 8001, onListen() {} }, (_req, i) => {
    info = i;
    return new Response("ok");
  });
  await (await fetch("http://localhost:8001/")).text();
  assert.deepEqual(Object.keys(info!.remoteAddr), ["hostname", "port", "transport"]);
  assert.equal(info!.remoteAddr.hostname, "127.0.0.1");
  await info!.completed;
});

Deno.test("bodies stream both ways through a virtual Deno.serve", async () => {
  await using _net = virtualNetwork();
  await using _server = Deno.serve({ port: 8002, onListen() {} }, async (req) => {
    let total = 0;
    for await (const chunk of req.body!) total += chunk.byteLength;
    let sent = 0;
    return new Response(
      new ReadableStream({
        pull(controller) {
          if (sent++ === 3) return controller.close();
          controller.enqueue(new TextEncoder().encode(`${total} `));
        },
      }),
    );
  });
  const upload = new ReadableStream({
    start(controller) {
      for (let i = 0; i < 64; i++) controller.enqueue(new Uint8Array(16 * 1024));
      controller.close();
    },
  });
  const res = await fetch("http://localhost:8002/upload", { method: "POST", body: upload });
  assert.equal(await res.text(), "1048576 1048576 1048576 ");
});

Deno.test("a handler that throws gets onError's response, or a 500", async () => {
  await using _net = virtualNetwork();
  const errors: unknown[] = [];
  await using _server = Deno.serve({
    port: 8003,
    onListen() {},
    onError: (err) => {
      errors.push(err);
      return new Response("sorry", { status: 503 });
    },
  }, () => {
    throw new Error("the database is down");
  });
  const res = await fetch("http://localhost:8003/");
  assert.equal(res.status, 503);
  assert.equal(await res.text(), "sorry");
  assert.equal((errors[0] as Error).message, "the database is down");
});

Deno.test("Deno.serve's signal and shutdown end a virtual server, finishing the request in flight", async () => {
  await using _net = virtualNetwork();
  const controller = new AbortController();
  const started = Promise.withResolvers<void>();
  const server = Deno.serve({ port: 8004, onListen() {}, signal: controller.signal }, async () => {
    started.resolve();
    await new Promise((r) => setTimeout(r, 20));
    return new Response("finished");
  });
  const inFlight = fetch("http://localhost:8004/");
  await started.promise;
  controller.abort();
  assert.equal(await (await inFlight).text(), "finished");
  await server.finished;
  await assert.rejects(fetch("http://localhost:8004/"), (err: TypeError) => {
    assert.ok(err.cause instanceof Deno.errors.ConnectionRefused);
    return true;
  });
});

Deno.test("Deno.serve's other shapes work, and TLS or a taken port fail with Deno's errors", async () => {
  await using _net = virtualNetwork();
  const original = console.error;
  const lines: string[] = [];
  console.error = (...args: unknown[]) => lines.push(args.join(" "));
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve(() => new Response("default port")); // port 8000 on 0.0.0.0, announced
  } finally {
    console.error = original;
  }
  assert.match(lines.join("\n"), /Listening on http:\/\/0\.0\.0\.0:8000\//);
  assert.equal(await (await fetch("http://localhost:8000/")).text(), "default port");
  await using _second = Deno.serve({
    port: 8005,
    onListen() {},
    handler: () => new Response("options.handler"),
  });
  assert.equal(await (await fetch("http://localhost:8005/")).text(), "options.handler");
  assert.throws(() => Deno.serve({ port: 8000, onListen() {} }, () => new Response()), Deno.errors.AddrInUse);
  assert.throws(
    () => Deno.serve({ port: 8443, cert: "x", key: "y", onListen() {} }, () => new Response()),
    /does not speak TLS/,
  );
  await server.shutdown();
});

Deno.test("a raw HTTP/1.1 request over Deno.connect gets a real HTTP answer from a virtual Deno.serve", async () => {
  await using _net = virtualNetwork();
  await using _server = Deno.serve({ port: 8006, onListen() {} }, handler);
  const conn = await Deno.connect({ port: 8006 });
  await conn.write(
    new TextEncoder().encode("GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
  );
  const reply = new TextDecoder().decode(await new Response(conn.readable).bytes());
  assert.match(reply, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(reply, /content-type: application\/json/i);
  assert.ok(reply.endsWith('{"status":"ok"}'));
});

Deno.test("a virtual Deno.serve answers garbage with a 400, survives a client that writes and leaves, and carries on", async () => {
  await using net = virtualNetwork();
  await using _server = Deno.serve({ port: 8007, onListen() {} }, handler);
  const garbage = await Deno.connect({ port: 8007 });
  await garbage.write(new TextEncoder().encode("NOT HTTP AT ALL\r\n\r\n"));
  const reply = new TextDecoder().decode(await new Response(garbage.readable).bytes());
  assert.match(reply, /^HTTP\/1\.1 400 /);
  const rude = await Deno.connect({ port: 8007 });
  await rude.write(new TextEncoder().encode("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
  rude.close(); // leaves without reading
  assert.deepEqual(await (await fetch("http://localhost:8007/health")).json(), { status: "ok" });
  using _fault = net.fault({ port: 8007 }, { type: "slice", averageSize: 3 }); // and over sliced bytes
  assert.deepEqual(await (await fetch("http://localhost:8007/health")).json(), { status: "ok" });
});
