import assert from "node:assert/strict";
import {
  type Conn,
  ConnClosedError,
  ConnectionRefusedError,
  ConnError,
  type Dialer,
  listen,
  type Listener,
  ListenerClosedError,
} from "../mod.ts";
import { createFetch, type HttpHandler, serveHttp } from "../http/mod.ts";
import { app, fnv1a, pattern } from "./fixtures/http_app.ts";
import { within } from "./socket_helpers.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A dialer that counts its dials. */
function counting(dialer: Dialer): Dialer & { dials: number } {
  const counted = {
    dials: 0,
    dial: (options?: { signal?: AbortSignal }) => {
      counted.dials++;
      return dialer.dial(options);
    },
  };
  return counted;
}

/** Reads a raw conn to EOF, as text. */
async function readText(conn: Conn): Promise<string> {
  return decoder.decode(await new Response(conn.readable).bytes());
}

/** A promise and its resolver, for handlers the test steers. */
function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => open = resolve);
  return { promise, open };
}

Deno.test("a handler is served over a memory listener: routing, JSON in and out, statuses, Location", async () => {
  await using fixture = serveHttp(listen({ transport: "memory" }), app());
  // fixture.fetch goes wherever the platform's fetch goes.
  const platformShaped: typeof fetch = fixture.fetch;
  const hello = await platformShaped("http://app/hello?name=ada");
  assert.equal(hello.status, 200);
  assert.equal(hello.headers.get("content-type"), "application/json");
  assert.deepEqual(await hello.json(), { hello: "ada" });
  assert.equal(hello.url, "http://app/hello?name=ada");

  const created = await fixture.fetch("http://app/items", {
    method: "POST",
    body: JSON.stringify({ name: "cup" }),
  });
  assert.equal(created.status, 201);
  assert.equal(created.headers.get("location"), "/items/1");
  assert.deepEqual(await created.json(), { id: 1, name: "cup" });
  assert.deepEqual(await (await fixture.fetch("http://app/items/1")).json(), { id: 1, name: "cup" });

  const invalid = await fixture.fetch("http://app/items", {
    method: "POST",
    body: JSON.stringify({ name: 7 }),
  });
  assert.equal(invalid.status, 422);
  await invalid.body!.cancel();
  const missing = await fixture.fetch("http://app/items/99");
  assert.equal(missing.status, 404);
  assert.deepEqual(await missing.json(), { error: "no such item" });
  assert.equal((await fixture.fetch("http://app/nowhere", { method: "DELETE" })).status, 404);
});

Deno.test("the handler sees the request as Deno.serve gives it: URL from Host, headers, remote address", async () => {
  let seen: {
    url: string;
    host: string | null;
    agent: string | null;
    custom: string | null;
    transport: string;
  } | null = null;
  await using fixture = serveHttp(listen({ transport: "memory" }), (request, info) => {
    seen = {
      url: request.url,
      host: request.headers.get("host"),
      agent: request.headers.get("user-agent"),
      custom: request.headers.get("x-custom"),
      transport: info.remoteAddr.transport,
    };
    return new Response(null, { status: 204 });
  });
  const res = await fixture.fetch("http://api.test:8080/a/b?c=d#frag", { headers: { "X-Custom": "yes" } });
  assert.equal(res.status, 204);
  assert.equal(res.body, null);
  assert.deepEqual(seen, {
    url: "http://api.test:8080/a/b?c=d",
    host: "api.test:8080",
    agent: navigator.userAgent,
    custom: "yes",
    transport: "memory",
  });
});

Deno.test("a streamed response reaches the client as it is produced", async () => {
  const second = gate();
  await using fixture = serveHttp(listen({ transport: "memory" }), () =>
    new Response(
      new ReadableStream<Uint8Array>({
        async start(controller) {
          controller.enqueue(encoder.encode("first\n"));
          // The rest waits until the client has read the first line: only a streamed response gets that far.
          await second.promise;
          controller.enqueue(encoder.encode("second\n"));
          controller.close();
        },
      }),
    ));
  const res = await fixture.fetch("http://app/events");
  assert.equal(res.headers.get("transfer-encoding"), "chunked");
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  assert.equal((await reader.read()).value, "first\n");
  second.open();
  let rest = "";
  for (let r; !(r = await reader.read()).done;) rest += r.value;
  assert.equal(rest, "second\n");
});

Deno.test("the app's streamed route sends its lines chunked, and a body that is all there has a Content-Length", async () => {
  await using fixture = serveHttp(listen({ transport: "memory" }), app());
  const streamed = await fixture.fetch("http://app/stream?lines=3");
  assert.equal(streamed.headers.get("transfer-encoding"), "chunked");
  assert.equal(streamed.headers.get("content-length"), null);
  assert.equal(await streamed.text(), "line 1\nline 2\nline 3\n");
  const whole = await fixture.fetch("http://app/hello");
  assert.equal(whole.headers.get("content-length"), String(JSON.stringify({ hello: "world" }).length));
  assert.equal(whole.headers.get("transfer-encoding"), null);
  await whole.body!.cancel();
});

Deno.test("a 50 MiB upload streams through with its checksum intact", async () => {
  await using fixture = serveHttp(listen({ transport: "memory" }), app());
  const size = 50 * 1024 * 1024;
  const chunks = pattern(size);
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = chunks.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
  });
  const res = await fixture.fetch(
    "http://app/upload",
    { method: "POST", body, duplex: "half" } as RequestInit,
  );
  assert.deepEqual(await res.json(), { bytes: size, fnv1a: fnv1a(pattern(size)) });
});

Deno.test("an upload the handler does not read yet is pulled no further than the windows allow", async () => {
  const reading = gate();
  await using fixture = serveHttp(listen({ transport: "memory" }), async (request) => {
    await reading.promise;
    let bytes = 0;
    for await (const chunk of request.body!) bytes += chunk.length;
    return Response.json({ bytes });
  });
  let pulled = 0;
  const size = 64 * 1024 * 1024;
  const chunks = pattern(size);
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = chunks.next();
      if (next.done) return controller.close();
      pulled += next.value.length;
      controller.enqueue(next.value);
    },
  }, { highWaterMark: 0 });
  const answer = fixture.fetch("http://app/upload", { method: "POST", body, duplex: "half" } as RequestInit);
  // Give an unbounded implementation every chance to run ahead.
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(pulled < 4 * 1024 * 1024, `pulled ${pulled} bytes while the handler read none`);
  reading.open();
  assert.deepEqual(await (await answer).json(), { bytes: size });
});

Deno.test("HEAD gets the headers and the length of the GET, and no body", async () => {
  await using fixture = serveHttp(listen({ transport: "memory" }), app());
  const res = await fixture.fetch("http://app/hello", { method: "HEAD" });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/json");
  assert.equal(res.headers.get("content-length"), String(JSON.stringify({ hello: "world" }).length));
  assert.equal(res.body, null);
  // The conn is still good for the next request.
  assert.deepEqual(await (await fixture.fetch("http://app/hello")).json(), { hello: "world" });
});

Deno.test("keep-alive: 200 requests in turn ride one conn, and 8 at a time ride 8", async () => {
  const listener = listen({ transport: "memory" });
  await using _server = serveHttp(listener, app());
  const dialer = counting(listener.dialer());
  await using fetch = createFetch(dialer);
  for (let i = 0; i < 200; i++) {
    assert.deepEqual(await (await fetch(`http://app/hello?name=${i}`)).json(), { hello: `${i}` });
  }
  assert.equal(dialer.dials, 1);
  await Promise.all(Array.from({ length: 8 }, async () => {
    for (let i = 0; i < 20; i++) await (await fetch("http://app/hello")).arrayBuffer();
  }));
  assert.ok(dialer.dials <= 8, `${dialer.dials} dials for 8 at a time`);
});

Deno.test("a handler that throws gets onError's response, and the server carries on", async () => {
  const errors: unknown[] = [];
  await using fixture = serveHttp(listen({ transport: "memory" }), app(), {
    onError: (err) => {
      errors.push(err);
      return Response.json({ error: (err as Error).message }, { status: 503 });
    },
  });
  const res = await fixture.fetch("http://app/throw");
  assert.equal(res.status, 503);
  assert.deepEqual(await res.json(), { error: "the handler broke" });
  assert.equal(errors.length, 1);
  assert.deepEqual(await (await fixture.fetch("http://app/hello")).json(), { hello: "world" });
});

Deno.test("by default a handler that throws is logged and answered with a 500", async () => {
  const logged: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => logged.push(args);
  try {
    await using fixture = serveHttp(listen({ transport: "memory" }), app());
    const res = await fixture.fetch("http://app/throw");
    assert.equal(res.status, 500);
    assert.equal(await res.text(), "Internal Server Error");
    // A handler returning something other than a Response is the same kind of failure.
    await using odd = serveHttp(
      listen({ transport: "memory" }),
      (() => "not a response") as unknown as HttpHandler,
    );
    assert.equal((await odd.fetch("http://app/")).status, 500);
  } finally {
    console.error = original;
  }
  assert.equal(logged.length, 2);
  assert.match(String((logged[0][1] as Error).message), /the handler broke/);
  assert.match(String((logged[1][1] as Error).message), /must return a Response/);
});

Deno.test("a malformed request gets a 400 and its conn closes; the server carries on", async () => {
  const listener = listen({ transport: "memory" });
  await using fixture = serveHttp(listener, app());
  for (
    const garbage of [
      "NOT HTTP AT ALL\r\n\r\n",
      "GET /hello HTTP/1.1\r\nHost: app\r\nContent-Length: nope\r\n\r\n",
      "GET /hello HTTP/1.1\r\nHost: a b\r\n\r\n",
      "\x00\x01\x02\x03\r\n\r\n",
    ]
  ) {
    await using conn = await listener.dialer().dial();
    await conn.write(encoder.encode(garbage));
    const answer = await readText(conn);
    assert.match(answer, /^HTTP\/1\.1 400 /, `for ${JSON.stringify(garbage)}: ${answer}`);
  }
  // Headers too big for the parser: 431.
  {
    await using conn = await listener.dialer().dial();
    await conn.write(
      encoder.encode(`GET / HTTP/1.1\r\nHost: app\r\nX-Big: ${"a".repeat(64 * 1024)}\r\n\r\n`),
    );
    assert.match(await readText(conn), /^HTTP\/1\.1 431 /);
  }
  // A client that sends half a request and leaves.
  {
    const conn = await listener.dialer().dial();
    await conn.write(encoder.encode("POST /upload HTTP/1.1\r\nHost: app\r\nContent-Length: 100\r\n\r\nhalf"));
    conn.close();
  }
  assert.deepEqual(await (await fixture.fetch("http://app/hello")).json(), { hello: "world" });
});

Deno.test("request.signal aborts when the client leaves before the response", async () => {
  const aborted = gate<unknown>();
  const started = gate();
  await using fixture = serveHttp(listen({ transport: "memory" }), (request) => {
    started.open();
    request.signal.addEventListener("abort", () => aborted.open(request.signal.reason));
    return new Promise<Response>(() => {}); // never answers
  });
  const controller = new AbortController();
  const answer = fixture.fetch("http://app/slow", { signal: controller.signal });
  await started.promise;
  controller.abort(new Error("user gave up"));
  await assert.rejects(answer, /user gave up/);
  const reason = await aborted.promise;
  assert.ok(reason instanceof ConnClosedError, `reason: ${reason}`);
});

Deno.test("fetch honours its signal: a deadline rejects with TimeoutError, an abort mid-body errors the body", async () => {
  const more = gate();
  await using fixture = serveHttp(listen({ transport: "memory" }), (request) => {
    if (new URL(request.url).pathname === "/never") return new Promise<Response>(() => {});
    return new Response(
      new ReadableStream({
        async start(controller) {
          controller.enqueue(encoder.encode("some"));
          await more.promise;
          controller.close();
        },
      }),
    );
  });
  const err = await fixture.fetch("http://app/never", { signal: AbortSignal.timeout(50) }).catch((e) => e);
  assert.equal(err.name, "TimeoutError");
  assert.equal(
    await fixture.fetch("http://app/never", { signal: AbortSignal.abort("no") }).catch((e) => e),
    "no",
  );

  const controller = new AbortController();
  const res = await fixture.fetch("http://app/partial", { signal: controller.signal });
  const reader = res.body!.getReader();
  assert.equal(decoder.decode((await reader.read()).value), "some");
  const reason = new Error("stop reading");
  controller.abort(reason);
  await assert.rejects(reader.read(), (e) => e === reason);
  more.open();
});

Deno.test("redirects are followed as fetch follows them; manual and error modes too", async () => {
  const seen: string[] = [];
  await using fixture = serveHttp(listen({ transport: "memory" }), async (request) => {
    const url = new URL(request.url);
    seen.push(`${request.method} ${url.pathname} ${request.headers.get("authorization") ?? "-"}`);
    if (url.pathname === "/old") return new Response(null, { status: 301, headers: { location: "/new" } });
    if (url.pathname === "/form") return new Response(null, { status: 303, headers: { location: "/done" } });
    if (url.pathname === "/keep") return new Response(null, { status: 307, headers: { location: "/kept" } });
    if (url.pathname === "/away") {
      return new Response(null, { status: 302, headers: { location: "http://elsewhere.test/landed" } });
    }
    if (url.pathname === "/loop") return new Response(null, { status: 302, headers: { location: "/loop" } });
    return Response.json({ at: url.href, method: request.method, body: await request.text() });
  });
  const moved = await fixture.fetch("http://app/old");
  assert.equal(moved.redirected, true);
  assert.equal(moved.url, "http://app/new");
  assert.deepEqual(await moved.json(), { at: "http://app/new", method: "GET", body: "" });

  const form = await fixture.fetch("http://app/form", { method: "POST", body: "a=1" });
  assert.deepEqual(await form.json(), { at: "http://app/done", method: "GET", body: "" });
  const kept = await fixture.fetch("http://app/keep", { method: "PUT", body: "same" });
  assert.deepEqual(await kept.json(), { at: "http://app/kept", method: "PUT", body: "same" });

  seen.length = 0;
  const away = await fixture.fetch("http://app/away", { headers: { authorization: "secret" } });
  assert.equal(away.url, "http://elsewhere.test/landed");
  await away.body!.cancel();
  assert.deepEqual(seen, ["GET /away secret", "GET /landed -"]);

  const manual = await fixture.fetch("http://app/old", { redirect: "manual" });
  assert.equal(manual.status, 301);
  assert.equal(manual.headers.get("location"), "/new");
  await assert.rejects(fixture.fetch("http://app/old", { redirect: "error" }), TypeError);
  await assert.rejects(fixture.fetch("http://app/loop"), /more than 20 redirects/);
  const streamed = new ReadableStream({
    start(c) {
      c.enqueue(encoder.encode("x"));
      c.close();
    },
  });
  const stream = await fixture.fetch(
    new Request("http://app/keep", { method: "POST", body: streamed, duplex: "half" } as RequestInit),
  ).catch((e) => e);
  // A one-chunk stream is all there once read: it went whole, so it could be sent again.
  assert.equal(
    stream instanceof Response ? await stream.text() : String(stream),
    JSON.stringify({
      at: "http://app/kept",
      method: "POST",
      body: "x",
    }),
  );
});

Deno.test("graceful shutdown: requests in flight finish, idle conns close, new dials are refused", async () => {
  const release = gate();
  const started = gate();
  const listener = listen({ transport: "memory" });
  const server = serveHttp(listener, async (request) => {
    if (new URL(request.url).pathname === "/slow") {
      started.open();
      await release.promise;
    }
    return new Response("done");
  });
  const idle = createFetch(listener.dialer());
  assert.equal(await (await idle("http://app/warm")).text(), "done"); // leaves an idle pooled conn
  const busy = createFetch(listener.dialer());
  const slow = busy("http://app/slow");
  await started.promise;
  const stopping = server.shutdown();
  await assert.rejects(listener.dialer().dial(), ListenerClosedError);
  let finished = false;
  server.finished.then(() => finished = true);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(finished, false, "finished before the request in flight was answered");
  release.open();
  const res = await slow;
  assert.equal(res.headers.get("connection"), "close");
  assert.equal(await res.text(), "done");
  await stopping;
  assert.equal(finished, true);
  await server.shutdown(); // idempotent
  idle.close();
  busy.close();
});

Deno.test("close() stops at once: requests in flight see their signal abort and their clients fail", async () => {
  const started = gate();
  const aborted = gate();
  const server = serveHttp(listen({ transport: "memory" }), (request) => {
    started.open();
    request.signal.addEventListener("abort", () => aborted.open());
    return new Promise<Response>(() => {});
  });
  const answer = server.fetch("http://app/").catch((e) => e);
  await started.promise;
  server.close();
  await aborted.promise;
  const err = await answer;
  assert.ok(err instanceof TypeError, `${err}`);
  assert.ok(err.cause instanceof ConnClosedError, `${err.cause}`);
  await server.finished;
});

Deno.test("the server's signal shuts it down", async () => {
  const controller = new AbortController();
  const listener = listen({ transport: "memory" });
  const server = serveHttp(listener, () => new Response("ok"), { signal: controller.signal });
  assert.equal(await (await server.fetch("http://app/")).text(), "ok");
  controller.abort();
  await server.finished;
  await assert.rejects(listener.dialer().dial(), ListenerClosedError);
  const early = serveHttp(listen({ transport: "memory" }), () => new Response("ok"), {
    signal: AbortSignal.abort(),
  });
  await early.finished;
});

Deno.test("a response body that fails midway cuts the conn: the client's read of it rejects", async () => {
  const fail = gate();
  await using fixture = serveHttp(listen({ transport: "memory" }), () =>
    new Response(
      new ReadableStream({
        async start(controller) {
          controller.enqueue(encoder.encode("partial"));
          await fail.promise;
          controller.error(new Error("the source broke"));
        },
      }),
    ));
  const res = await fixture.fetch("http://app/");
  const reader = res.body!.getReader();
  assert.equal(decoder.decode((await reader.read()).value), "partial");
  fail.open();
  const err = await reader.read().catch((e) => e);
  assert.ok(err instanceof TypeError, `${err}`);
  assert.ok(err.cause instanceof ConnClosedError, `${err.cause}`);
});

Deno.test("a response body that fails before anything was sent: the fetch rejects", async () => {
  await using fixture = serveHttp(listen({ transport: "memory" }), () =>
    new Response(
      new ReadableStream({
        pull(controller) {
          controller.error(new Error("the source broke at once"));
        },
      }),
    ));
  const err = await fixture.fetch("http://app/").catch((e) => e);
  assert.ok(err instanceof TypeError, `${err}`);
  assert.ok(err.cause instanceof ConnClosedError, `${err.cause}`);
});

Deno.test("headers keep their repeats: several Set-Cookie stay apart, a status text arrives", async () => {
  await using fixture = serveHttp(listen({ transport: "memory" }), () => {
    const headers = new Headers();
    headers.append("set-cookie", "a=1; Path=/");
    headers.append("set-cookie", "b=2; Path=/");
    return new Response("teapot", { status: 418, statusText: "I'm a teapot", headers });
  });
  const res = await fixture.fetch("http://app/");
  assert.deepEqual(res.headers.getSetCookie(), ["a=1; Path=/", "b=2; Path=/"]);
  assert.equal(res.status, 418);
  assert.equal(res.statusText, "I'm a teapot");
  assert.equal(await res.text(), "teapot");
});

/**
 * A server of our own that answers the first request on each conn, keep-alive promised, and meets the
 * second by closing the conn unanswered: the race of a server's idle timeout with a client's next request.
 */
async function closingSecondRequests(listener: Listener): Promise<void> {
  for await (const conn of listener) {
    (async () => {
      const buf = new Uint8Array(4096);
      for (let answered = 0;; answered++) {
        let text = "";
        while (!text.includes("\r\n\r\n")) {
          const n = await conn.read(buf).catch(() => null);
          if (n === null) return conn.close();
          text += decoder.decode(buf.subarray(0, n));
        }
        if (answered === 1) return conn.close();
        await conn.write(
          encoder.encode("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout=60\r\n\r\nok"),
        );
      }
    })();
  }
}

Deno.test("a request that meets a pooled conn the server just closed is sent again on a new conn", async () => {
  const listener = listen({ transport: "memory" });
  const serving = closingSecondRequests(listener);
  const dialer = counting(listener.dialer());
  await using fetch = createFetch(dialer);
  assert.equal(await (await fetch("http://app/1")).text(), "ok");
  assert.equal(dialer.dials, 1);
  assert.equal(await (await fetch("http://app/2")).text(), "ok"); // met the closing conn, then a new one
  assert.equal(dialer.dials, 2);
  assert.equal(await (await fetch("http://app/3", { method: "POST", body: "hi" })).text(), "ok");
  listener.close();
  await serving;
});

Deno.test("a streamed body that meets a pooled conn the server just closed fails with a TypeError, not a hang", async () => {
  const listener = listen({ transport: "memory" });
  const serving = closingSecondRequests(listener);
  await using fetch = createFetch(listener.dialer());
  assert.equal(await (await fetch("http://app/1")).text(), "ok");
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      controller.enqueue(encoder.encode("hi"));
      controller.close();
    },
  });
  const err = await within(
    fetch("http://app/2", { method: "POST", body, duplex: "half" } as RequestInit).catch((e) => e),
    10_000,
    "the fetch",
  );
  assert.ok(err instanceof TypeError, `${err}`);
  assert.match(err.message, /streamed body cannot be sent again/);
  listener.close();
  await serving;
});

Deno.test("createFetch takes connect options, fails to connect with a TypeError, and closes", async () => {
  await using _server = serveHttp(listen({ transport: "memory", name: "http-test-api" }), app());
  const fetch = createFetch({ transport: "memory", name: "http-test-api" });
  assert.deepEqual(await (await fetch("http://api/hello")).json(), { hello: "world" });
  fetch.close();
  await assert.rejects(fetch("http://api/hello"), /closed/);

  await using nowhere = createFetch({ transport: "memory", name: "http-test-nobody" });
  const err = await nowhere("http://x/").catch((e) => e);
  assert.ok(err instanceof TypeError, `${err}`);
  assert.ok(err.cause instanceof ConnectionRefusedError, `${err.cause}`);

  const controller = new AbortController();
  const stopped = createFetch({ transport: "memory", name: "http-test-api" }, { signal: controller.signal });
  controller.abort(new Error("done with it"));
  await assert.rejects(stopped("http://api/hello"), /done with it/);
});

Deno.test("bad arguments are TypeErrors that say what was expected", () => {
  assert.throws(() => serveHttp(null as never, app()), /takes a Listener/);
  assert.throws(() => serveHttp(listen({ transport: "memory" }), "no" as never), /handler function/);
  assert.throws(
    () => serveHttp(listen({ transport: "memory" }), app(), { signal: "x" as never }),
    /signal must be an AbortSignal/,
  );
  assert.throws(() => createFetch(42 as never), /Dialer or connect options/);
});

Deno.test("createFetch wants http: URLs and says why", async () => {
  await using fixture = serveHttp(listen({ transport: "memory" }), app());
  await assert.rejects(fixture.fetch("https://app/hello"), /must be http:/);
  await assert.rejects(fixture.fetch("not a url"), TypeError);
});

Deno.test("a listener that breaks stops the server: logged, and finished rejects with its error", async () => {
  const broken = new ConnError({
    code: "EBADF",
    op: "accept",
    addr: "memory:broken",
    summary: "bad descriptor",
  });
  const inner = listen({ transport: "memory" });
  const listener: Listener = {
    addr: inner.addr,
    accept: () => Promise.reject(broken),
    close: () => inner.close(),
    async *[Symbol.asyncIterator]() {
      yield await inner.accept();
      throw broken;
    },
    [Symbol.asyncDispose]: () => Promise.resolve(inner.close()),
    [Symbol.dispose]: () => inner.close(),
  };
  const logged: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => logged.push(args);
  try {
    const server = serveHttp(listener, () => new Response("ok"));
    const conn = await inner.dialer().dial();
    await assert.rejects(server.finished, (err) => err === broken);
    conn.close();
  } finally {
    console.error = original;
  }
  assert.match(String(logged[0]?.[0]), /the listener on memory:private-\d+ failed/);
});

Deno.test("info.completed settles once the response went out, or the client left", async () => {
  const completions: string[] = [];
  const left = gate();
  const started = gate();
  await using fixture = serveHttp(listen({ transport: "memory" }), (request, info) => {
    const path = new URL(request.url).pathname;
    info.completed.then(() => {
      completions.push(path);
      if (path === "/never") left.open();
    });
    if (path === "/never") {
      started.open();
      return new Promise<Response>(() => {});
    }
    return new Response("sent");
  });
  assert.equal(await (await fixture.fetch("http://app/sent")).text(), "sent");
  const controller = new AbortController();
  const never = fixture.fetch("http://app/never", { signal: controller.signal }).catch(() => {});
  await started.promise;
  controller.abort();
  await never;
  await left.promise;
  assert.deepEqual(completions, ["/sent", "/never"]);
});

Deno.test("bodies given in memory (FormData, URLSearchParams, Blob, ArrayBuffer) go whole, with a Content-Length", async () => {
  await using fixture = serveHttp(listen({ transport: "memory" }), async (request) => {
    const length = request.headers.get("content-length");
    const type = request.headers.get("content-type") ?? "";
    if (type.startsWith("multipart/form-data")) {
      const form = await request.formData();
      return Response.json({ length, a: form.get("a"), file: await (form.get("file") as File).text() });
    }
    return Response.json({ length, type, text: await request.text() });
  });
  const post = (body: BodyInit) =>
    fixture.fetch("http://app/", { method: "POST", body }).then((r) => r.json());
  const form = new FormData();
  form.set("a", "1");
  form.set("file", new Blob(["file contents"]), "f.txt");
  const sent = await post(form);
  assert.deepEqual([sent.a, sent.file, Number(sent.length) > 0], ["1", "file contents", true]);
  assert.deepEqual(await post(new URLSearchParams({ q: "a b" })), {
    length: "5",
    type: "application/x-www-form-urlencoded;charset=UTF-8",
    text: "q=a+b",
  });
  const blob = new Blob([new Uint8Array(100_000).fill(0x61)], { type: "text/plain" });
  const big = await post(blob);
  assert.deepEqual([big.length, big.type, big.text.length], ["100000", "text/plain", 100_000]);
  assert.deepEqual(await post(new TextEncoder().encode("bytes").buffer), {
    length: "5",
    type: "",
    text: "bytes",
  });
});

Deno.test("a dial that takes too long gives up with the request's signal", async () => {
  let dialSignal: AbortSignal | undefined;
  const hanging: Dialer = {
    dial(options) {
      dialSignal = options?.signal;
      return new Promise((_, reject) =>
        options?.signal?.addEventListener("abort", () => reject(options.signal!.reason))
      );
    },
  };
  await using fetch = createFetch(hanging);
  const err = await fetch("http://slow/", { signal: AbortSignal.timeout(30) }).catch((e) => e);
  assert.equal(err.name, "TimeoutError");
  assert.equal(dialSignal?.aborted, true);
});

Deno.test("over a long run of requests, each response is done (info.completed) before the next request is served", async () => {
  // createFetch over memory is promise callbacks from end to end; node:http settles a response on a tick.
  let completed = 0;
  const seen: number[] = [];
  await using fixture = serveHttp(listen({ transport: "memory" }), (_request, info) => {
    seen.push(completed);
    info.completed.then(() => completed++);
    return new Response("ok");
  });
  for (let i = 0; i < 50; i++) await (await fixture.fetch("http://app/")).text();
  assert.deepEqual(seen, seen.map((_, i) => i));
});
