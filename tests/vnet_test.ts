import assert from "node:assert/strict";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import tls from "node:tls";
import { listen } from "../mod.ts";
import { virtualNetwork } from "../vnet/mod.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Everything a virtual network patches, with how to read it. */
function patched(): Map<string, unknown> {
  return new Map<string, unknown>([
    ["Deno.connect", Deno.connect],
    ["Deno.listen", Deno.listen],
    ["Deno.serve", Deno.serve],
    ["Deno.connectTls", Deno.connectTls],
    ["Deno.listenTls", Deno.listenTls],
    ["Deno.startTls", Deno.startTls],
    ["fetch", globalThis.fetch],
    ["net.connect", net.connect],
    ["net.createConnection", net.createConnection],
    ["tls.connect", tls.connect],
    ["net.Server.prototype.listen", net.Server.prototype.listen],
    ["net.Server.prototype.close", net.Server.prototype.close],
    ["net.Server.prototype.address", net.Server.prototype.address],
    ["http.Agent.prototype.createConnection", http.Agent.prototype.createConnection],
  ]);
}

function descriptors(): unknown[] {
  return [
    Object.getOwnPropertyDescriptor(Deno, "serve"),
    Object.getOwnPropertyDescriptor(Deno, "connect"),
    Object.getOwnPropertyDescriptor(globalThis, "fetch"),
    Object.getOwnPropertyDescriptor(net, "connect"),
    Object.getOwnPropertyDescriptor(https.Agent.prototype, "createConnection"),
  ];
}

async function readAll(conn: Deno.Conn): Promise<string> {
  return decoder.decode(await new Response(conn.readable).bytes());
}

Deno.test("after dispose, everything patched is the original again, by identity and descriptor", async () => {
  const before = patched();
  const beforeDescriptors = descriptors();
  {
    await using _net = virtualNetwork();
    for (const [name, value] of patched()) assert.notEqual(value, before.get(name), `${name} is patched`);
  }
  for (const [name, value] of patched()) assert.equal(value, before.get(name), `${name} is the original`);
  assert.deepEqual(descriptors(), beforeDescriptors);
  assert.equal(net.createServer, before.get("net.createServer") ?? net.createServer); // never patched
});

Deno.test("a test that throws inside the network still gets the originals back", async () => {
  const before = patched();
  const thrown = await (async () => {
    await using _net = virtualNetwork();
    Deno.listen({ port: 9 }); // left open by the failing test
    throw new Error("the test failed");
  })().catch((err) => err);
  assert.equal(thrown.message, "the test failed");
  for (const [name, value] of patched()) assert.equal(value, before.get(name), `${name} is the original`);
});

Deno.test("a second network while one is installed is an error that installs nothing", async () => {
  await using first = virtualNetwork({ seed: 77 });
  const connect = Deno.connect;
  assert.throws(() => virtualNetwork(), /seed 77.*already installed.*networks do not stack/s);
  assert.equal(Deno.connect, connect);
  await first.close();
  await using _again = virtualNetwork(); // a new one once the first is gone
});

Deno.test("Deno.listen on port 0 gets a free virtual port, and every local name reaches it", async () => {
  await using _net = virtualNetwork();
  using listener = Deno.listen({ port: 0 });
  assert.equal(listener.addr.hostname, "0.0.0.0");
  assert.ok(listener.addr.port > 0);
  for (const hostname of ["localhost", "127.0.0.1", "::1", "0.0.0.0"]) {
    using conn = await Deno.connect({ hostname, port: listener.addr.port });
    using server = await listener.accept();
    assert.equal(server.localAddr.port, listener.addr.port);
    assert.equal(server.remoteAddr.port, conn.localAddr.port);
    assert.equal(conn.remoteAddr.hostname, hostname === "localhost" ? "127.0.0.1" : hostname);
  }
});

Deno.test("a name that no listener holds is ConnectionRefused, a taken address AddrInUse, as Deno's errors", async () => {
  await using _net = virtualNetwork();
  const refused = await Deno.connect({ hostname: "db.internal", port: 5432 }).catch((e) =>
    e as Error & { code?: string }
  );
  assert.ok(refused instanceof Deno.errors.ConnectionRefused);
  assert.equal((refused as { code?: string }).code, "ECONNREFUSED");
  assert.match(refused.message, /db\.internal:5432.*virtual network/);
  using _held = Deno.listen({ hostname: "db.internal", port: 5432 });
  const taken = (() => {
    try {
      Deno.listen({ hostname: "db.internal", port: 5432 });
    } catch (err) {
      return err;
    }
  })();
  assert.ok(taken instanceof Deno.errors.AddrInUse);
  assert.equal((taken as { code?: string }).code, "EADDRINUSE");
  // Another host's same port is another address.
  using _other = Deno.listen({ hostname: "cache.internal", port: 5432 });
});

Deno.test("a virtual conn looks like a Deno.TcpConn where code pokes at it", async () => {
  await using _net = virtualNetwork();
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 4000 });
  const conn = await Deno.connect({ port: 4000 }); // hostname defaults to 127.0.0.1, as Deno's
  const server = await listener.accept();
  assert.deepEqual(Object.keys(conn.remoteAddr), ["hostname", "port", "transport"]);
  assert.equal(Object.getPrototypeOf(conn.remoteAddr), null);
  assert.deepEqual({ ...conn.remoteAddr }, { hostname: "127.0.0.1", port: 4000, transport: "tcp" });
  conn.setNoDelay(true);
  conn.setKeepAlive(true);
  conn.unref();
  conn.ref();
  const pending = conn.read(new Uint8Array(4));
  conn.close();
  const interrupted = await pending.catch((e) => e);
  assert.ok(interrupted instanceof Deno.errors.Interrupted, String(interrupted));
  assert.throws(() => conn.close(), Deno.errors.BadResource);
  await assert.rejects(conn.read(new Uint8Array(1)), Deno.errors.BadResource);
  assert.equal(await server.read(new Uint8Array(1)), null); // the peer saw the close
  // As over TCP, a write or two may go out before the close is known; then writes fail.
  let broken: unknown;
  for (let i = 0; i < 100 && broken === undefined; i++) {
    await server.write(encoder.encode("late")).catch((e) => broken = e);
    await new Promise((r) => setTimeout(r, 1));
  }
  assert.ok(broken instanceof Deno.errors.BrokenPipe, String(broken));
  server.close();
});

Deno.test("readable and writable close the conn when they end, as Deno's do", async () => {
  await using _net = virtualNetwork();
  using listener = Deno.listen({ port: 4001 });
  const conn = await Deno.connect({ port: 4001 });
  const server = await listener.accept();
  const writer = conn.writable.getWriter();
  await writer.write(encoder.encode("whole message"));
  await writer.close(); // closes the conn, not only its writing side
  assert.equal(await readAll(server), "whole message");
  await assert.rejects(conn.read(new Uint8Array(1)), Deno.errors.BadResource);
  await server.write(encoder.encode("too late")).catch(() => {});
  assert.throws(() => server.close(), Deno.errors.BadResource); // its readable ended, which closed it
});

Deno.test("closeWrite gives the peer EOF while the other direction keeps working", async () => {
  await using _net = virtualNetwork();
  using listener = Deno.listen({ port: 4002 });
  using conn = await Deno.connect({ port: 4002 });
  using server = await listener.accept();
  await conn.write(encoder.encode("question"));
  await conn.closeWrite();
  const buf = new Uint8Array(16);
  const n = await server.read(buf);
  assert.equal(decoder.decode(buf.subarray(0, n!)), "question");
  assert.equal(await server.read(buf), null);
  await server.write(encoder.encode("answer"));
  assert.equal(decoder.decode(buf.subarray(0, (await conn.read(buf))!)), "answer");
  await assert.rejects(conn.write(encoder.encode("x")), Deno.errors.BrokenPipe);
});

Deno.test("for await over a virtual Deno listener ends when it closes, and accept after close is BadResource", async () => {
  await using _net = virtualNetwork();
  const listener = Deno.listen({ hostname: "svc.internal", port: 80 });
  const served: number[] = [];
  const serving = (async () => {
    for await (const conn of listener) {
      served.push(conn.remoteAddr.port);
      conn.close();
    }
  })();
  for (let i = 0; i < 3; i++) (await Deno.connect({ hostname: "svc.internal", port: 80 })).close();
  while (served.length < 3) await new Promise((r) => setTimeout(r, 1));
  listener.close();
  await serving;
  await assert.rejects(listener.accept(), Deno.errors.BadResource);
  assert.throws(() => listener.close(), Deno.errors.BadResource);
  await assert.rejects(Deno.connect({ hostname: "svc.internal", port: 80 }), Deno.errors.ConnectionRefused);
});

Deno.test("a line protocol written with Deno.connect talks to the fake the test stands up", async () => {
  // The code under test, as a user writes it: ask a quote service for a price, one line each way.
  async function quote(symbol: string, hostname: string, port: number): Promise<number> {
    const conn = await Deno.connect({ hostname, port });
    try {
      await conn.write(encoder.encode(`PRICE ${symbol}\n`));
      let line = "";
      for await (const chunk of conn.readable.pipeThrough(new TextDecoderStream())) {
        line += chunk;
        if (line.includes("\n")) break;
      }
      const [status, value] = line.trim().split(" ");
      if (status !== "OK") throw new Error(`quote service said ${line.trim()}`);
      return Number(value);
    } finally {
      try {
        conn.close();
      } catch {
        // The readable closed it already.
      }
    }
  }

  await using net = virtualNetwork();
  using fake = net.listen({ hostname: "quotes.internal", port: 7070 });
  const prices = new Map([["ACME", 12.5]]);
  const serving = (async () => {
    for await (const conn of fake) {
      const buf = new Uint8Array(64);
      const n = await conn.read(buf);
      const [verb, symbol] = decoder.decode(buf.subarray(0, n!)).trim().split(" ");
      const price = prices.get(symbol);
      await conn.write(
        encoder.encode(verb === "PRICE" && price ? `OK ${price}\n` : `ERR unknown ${symbol}\n`),
      );
      conn.close();
    }
  })();
  assert.equal(await quote("ACME", "quotes.internal", 7070), 12.5);
  await assert.rejects(quote("NOPE", "quotes.internal", 7070), /quote service said ERR unknown NOPE/);
  await assert.rejects(quote("ACME", "quotes.internal", 7071), Deno.errors.ConnectionRefused);
  fake.close();
  await serving;
});

Deno.test("a line server written with Deno.listen answers the test's Deno.connect", async () => {
  // The code under test: an upper-casing line server on the port it is given.
  function startServer(port: number): Deno.Listener {
    const listener = Deno.listen({ port });
    (async () => {
      for await (const conn of listener) {
        conn.readable.pipeThrough(new TextDecoderStream())
          .pipeThrough(new TransformStream({ transform: (text, out) => out.enqueue(text.toUpperCase()) }))
          .pipeThrough(new TextEncoderStream())
          .pipeTo(conn.writable).catch(() => {});
      }
    })();
    return listener;
  }
  await using _net = virtualNetwork();
  using _server = startServer(7000);
  const conn = await Deno.connect({ hostname: "localhost", port: 7000 });
  await conn.write(encoder.encode("hello\n"));
  const buf = new Uint8Array(16);
  const n = await conn.read(buf);
  assert.equal(decoder.decode(buf.subarray(0, n!)), "HELLO\n");
  conn.close();
});

Deno.test("nothing goes to the real network unless passthrough lets it through", async () => {
  // A real server on loopback, started before the network.
  const real = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = real.addr;
  const answering = (async () => {
    for await (const conn of real) {
      await conn.write(encoder.encode("real"));
      conn.close();
    }
  })();
  {
    await using _net = virtualNetwork();
    await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port }), Deno.errors.ConnectionRefused);
  }
  {
    await using _net = virtualNetwork({ passthrough: ["127.0.0.1"] });
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    assert.equal(await readAll(conn), "real");
    await assert.rejects(Deno.connect({ hostname: "localhost", port }), Deno.errors.ConnectionRefused);
  }
  {
    await using _net = virtualNetwork({ passthrough: (target) => target.port === port });
    const conn = await Deno.connect({ hostname: "localhost", port });
    assert.equal(await readAll(conn), "real");
  }
  real.close();
  await answering;
});

Deno.test("a route sends a virtual address to a real server's Unix socket, until it is removed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/real.sock`;
    await using real = await listen({ transport: "unix", path });
    const answering = (async () => {
      for await (const conn of real) {
        const buf = new Uint8Array(64);
        const n = await conn.read(buf);
        await conn.write(encoder.encode(`real server got ${decoder.decode(buf.subarray(0, n!))}`));
        await conn.closeWrite();
      }
    })();
    await using net = virtualNetwork();
    const route = net.route({ hostname: "db.internal", port: 5432 }, { transport: "unix", path });
    const conn = await Deno.connect({ hostname: "db.internal", port: 5432 });
    await conn.write(encoder.encode("hello"));
    assert.equal(await readAll(conn), "real server got hello");
    route.remove();
    await assert.rejects(
      Deno.connect({ hostname: "db.internal", port: 5432 }),
      Deno.errors.ConnectionRefused,
    );
    real.close();
    await answering;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a route to a real TCP address needs passthrough, and to a dead Unix socket refuses", async () => {
  await using net = virtualNetwork();
  assert.throws(
    () =>
      net.route({ hostname: "db.internal", port: 5432 }, {
        transport: "tcp",
        hostname: "10.0.0.5",
        port: 5432,
      }),
    /would reach the real network.*passthrough/,
  );
  using _route = net.route({ hostname: "db.internal", port: 5432 }, {
    transport: "unix",
    path: "/nonexistent/x.sock",
  });
  const err = await Deno.connect({ hostname: "db.internal", port: 5432 }).catch((e) => e);
  assert.ok(err instanceof Deno.errors.ConnectionRefused);
  assert.match(err.message, /route's target refused/);
});

Deno.test("TLS is refused with an error that names the host, and says why", async () => {
  await using _net = virtualNetwork();
  using _plain = Deno.listen({ hostname: "api.internal", port: 443 });
  const tlsToVirtual = await Deno.connectTls({ hostname: "api.internal", port: 443 }).catch((e) => e);
  assert.ok(tlsToVirtual instanceof Deno.errors.NotSupported);
  assert.match(tlsToVirtual.message, /api\.internal:443.*does not speak TLS/);
  const tlsNowhere = await Deno.connectTls({ hostname: "example.com", port: 443 }).catch((e) => e);
  assert.ok(tlsNowhere instanceof Deno.errors.ConnectionRefused);
  assert.match(tlsNowhere.message, /example\.com:443/);
  const https = await fetch("https://example.com/").catch((e) => e as TypeError & { cause: Error });
  assert.ok(https instanceof TypeError);
  assert.match(https.cause.message, /https:\/\/example\.com\/.*does not speak TLS/);
  assert.throws(() => Deno.listenTls({ port: 8443, cert: "", key: "" }), Deno.errors.NotSupported);
  const node = tls.connect({ host: "example.com", port: 443 });
  const nodeErr = await new Promise<Error & { code?: string }>((resolve) => node.once("error", resolve));
  assert.equal(nodeErr.code, "ECONNREFUSED");
  assert.match(nodeErr.message, /example\.com:443.*does not speak TLS/);
});

Deno.test("Unix sockets are left to the real Deno.listen and Deno.connect", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using _net = virtualNetwork();
    const path = `${dir}/plain.sock`;
    using listener = Deno.listen({ transport: "unix", path });
    assert.equal((await Deno.stat(path)).isSocket, true);
    using _conn = await Deno.connect({ transport: "unix", path });
    using _server = await listener.accept();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dispose closes what the code under test left open: its listeners, servers and conns", async () => {
  let conn: Deno.Conn;
  let server: Deno.HttpServer;
  {
    await using _net = virtualNetwork();
    const listener = Deno.listen({ port: 5000 });
    conn = await Deno.connect({ port: 5000 });
    await listener.accept();
    server = Deno.serve({ port: 8000, onListen() {} }, () => new Response("up"));
  }
  await server.finished;
  // Its conn was hung up on, as by a server going away: EOF, then writes fail.
  assert.equal(await conn.read(new Uint8Array(1)), null);
  await assert.rejects(conn.write(new Uint8Array(1)), Deno.errors.BrokenPipe);
});

Deno.test("fetch follows a redirect from one virtual host to another", async () => {
  await using _net = virtualNetwork();
  await using _old = Deno.serve(
    { hostname: "old.internal", port: 80, onListen() {} },
    (req) => Response.redirect(`http://new.internal:8080${new URL(req.url).pathname}`, 301),
  );
  await using _new = Deno.serve(
    { hostname: "new.internal", port: 8080, onListen() {} },
    (req) => new Response(`new ${new URL(req.url).pathname}`),
  );
  const res = await fetch("http://old.internal/page");
  assert.equal(await res.text(), "new /page");
  assert.equal(res.redirected, true);
  assert.equal(res.url, "http://new.internal:8080/page");
  const manual = await fetch("http://old.internal/page", { redirect: "manual" });
  assert.equal(manual.status, 301);
  await manual.body?.cancel();
});
