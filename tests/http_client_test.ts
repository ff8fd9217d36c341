// createFetch's client against raw servers of our own: what reaches the wire, and answers of every framing.
import assert from "node:assert/strict";
import { type Conn, ConnClosedError, type Dialer, listen, type Listener } from "../mod.ts";
import { createFetch } from "../http/mod.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Reads one request head off `conn` (bodies are not read); `null` at EOF. */
async function readHead(conn: Conn): Promise<string | null> {
  const buf = new Uint8Array(1);
  let text = "";
  while (!text.endsWith("\r\n\r\n")) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) return null;
    text += String.fromCharCode(buf[0]);
  }
  return text;
}

/** Serves every conn with `answer`: given each request head, it writes what it likes and says whether to go on. */
function rawServer(
  answer: (conn: Conn, head: string, index: number) => Promise<boolean>,
): { listener: Listener & { dialer(): Dialer }; dials: () => number; done: Promise<void> } {
  const listener = listen({ transport: "memory" });
  let dials = 0;
  const done = (async () => {
    for await (const conn of listener) {
      dials++;
      (async () => {
        for (let i = 0;; i++) {
          const head = await readHead(conn);
          if (head === null || !await answer(conn, head, i)) return conn.close();
        }
      })();
    }
  })();
  return { listener, dials: () => dials, done };
}

/** A server that answers every request head with the same `reply`, bytes as they are. */
function answering(reply: string): ReturnType<typeof rawServer> {
  return rawServer(async (conn) => {
    await conn.write(encoder.encode(reply));
    return true;
  });
}

Deno.test("the request head carries the method, path, query, Host, fetch's defaults and the caller's headers", async () => {
  let seen = "";
  const server = rawServer(async (conn, head) => {
    seen = head;
    await conn.write(encoder.encode("HTTP/1.1 204 No Content\r\n\r\n"));
    return true;
  });
  await using fetch = createFetch(server.listener.dialer());
  const res = await fetch("http://api.test:8080/a%20b/c?x=1&y=2", {
    method: "DELETE",
    headers: { "x-latin1": "caf\u00e9", "x-Mixed-Case": "v" },
  });
  assert.equal(res.status, 204);
  assert.equal(res.body, null);
  const lines = seen.split("\r\n");
  assert.equal(lines[0], "DELETE /a%20b/c?x=1&y=2 HTTP/1.1");
  assert.ok(lines.includes("host: api.test:8080"), seen);
  assert.ok(lines.includes("accept: */*"), seen);
  assert.ok(lines.includes("x-mixed-case: v"), seen);
  // A header value is a byte string: é goes as the one byte 0xE9, as fetch sends it.
  assert.ok(lines.includes("x-latin1: caf\u00e9"), seen);
  assert.ok(lines.includes("content-length: 0"), seen);
  server.listener.close();
  await server.done;
});

Deno.test("a body that runs to the close is read to the end, and that conn is not reused", async () => {
  const server = rawServer(async (conn) => {
    await conn.write(encoder.encode("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil "));
    await conn.write(encoder.encode("the end"));
    return false;
  });
  await using fetch = createFetch(server.listener.dialer());
  assert.equal(await (await fetch("http://x/")).text(), "until the end");
  assert.equal(await (await fetch("http://x/")).text(), "until the end");
  assert.equal(server.dials(), 2);
  server.listener.close();
  await server.done;
});

Deno.test("an interim 100 Continue is passed over, and many headers arrive whole", async () => {
  const many = Array.from({ length: 50 }, (_, i) => `X-H${i}: ${i}\r\n`).join("");
  const server = rawServer(async (conn) => {
    await conn.write(encoder.encode("HTTP/1.1 100 Continue\r\n\r\n"));
    await conn.write(encoder.encode(`HTTP/1.1 201 Created\r\n${many}Content-Length: 2\r\n\r\nok`));
    return true;
  });
  await using fetch = createFetch(server.listener.dialer());
  const res = await fetch("http://x/");
  assert.equal(res.status, 201);
  assert.equal(res.statusText, "Created");
  assert.equal(res.headers.get("x-h0"), "0");
  assert.equal(res.headers.get("x-h49"), "49");
  assert.equal(await res.text(), "ok");
  server.listener.close();
  await server.done;
});

Deno.test("a chunked answer that comes in pieces streams; one cut short errors the body with a ConnClosedError", async () => {
  const server = rawServer(async (conn, head) => {
    if (head.startsWith("GET /cut")) {
      await conn.write(encoder.encode("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"));
      return false;
    }
    await conn.write(encoder.encode("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"));
    await new Promise((resolve) => setTimeout(resolve, 5));
    await conn.write(encoder.encode("2\r\nde\r\n0\r\n\r\n"));
    return true;
  });
  await using fetch = createFetch(server.listener.dialer());
  const res = await fetch("http://x/chunks");
  const parts: string[] = [];
  for await (const chunk of res.body!) parts.push(decoder.decode(chunk));
  assert.deepEqual(parts, ["abc", "de"]);
  const cut = await fetch("http://x/cut");
  const err = await cut.text().catch((e) => e);
  assert.ok(err instanceof TypeError, `${err}`);
  assert.ok(err.cause instanceof ConnClosedError, `${err.cause}`);
  server.listener.close();
  await server.done;
});

Deno.test("a streamed request body goes chunked, and one with a Content-Length goes as it is", async () => {
  const bodies: string[] = [];
  const server = rawServer(async (conn, head) => {
    const chunked = /transfer-encoding: chunked/i.test(head);
    const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? -1);
    let text = "";
    const buf = new Uint8Array(1);
    const done = () => chunked ? text.endsWith("0\r\n\r\n") : text.length === length;
    while (!done()) {
      if (await conn.read(buf) === null) return false;
      text += String.fromCharCode(buf[0]);
    }
    bodies.push(`${chunked ? "chunked" : "length"}: ${JSON.stringify(text)}`);
    await conn.write(encoder.encode("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
    return true;
  });
  await using fetch = createFetch(server.listener.dialer());
  const stream = () => ReadableStream.from([encoder.encode("ab"), encoder.encode("cde")]);
  await fetch("http://x/", { method: "POST", body: stream(), duplex: "half" } as RequestInit);
  await fetch("http://x/", {
    method: "POST",
    body: stream(),
    headers: { "content-length": "5" },
    duplex: "half",
  } as RequestInit);
  assert.deepEqual(bodies, ['chunked: "2\\r\\nab\\r\\n3\\r\\ncde\\r\\n0\\r\\n\\r\\n"', 'length: "abcde"']);
  server.listener.close();
  await server.done;
});

Deno.test("a streamed body that runs over or stops short of its Content-Length fails its fetch, and no byte past it goes", async () => {
  // What each conn's request carried after its head, counted once the client ends that conn.
  const counted = [Promise.withResolvers<number>(), Promise.withResolvers<number>()];
  let conns = 0;
  const server = rawServer(async (conn) => {
    const buf = new Uint8Array(64);
    let n = 0;
    for (let got; (got = await conn.read(buf).catch(() => null)) !== null;) n += got;
    counted[conns++].resolve(n);
    return false;
  });
  await using fetch = createFetch(server.listener.dialer());
  for (const declared of ["4", "9"]) {
    const body = ReadableStream.from([encoder.encode("ab"), encoder.encode("cde")]);
    const err = await fetch("http://x/", {
      method: "POST",
      body,
      headers: { "content-length": declared },
      duplex: "half",
    } as RequestInit).catch((e) => e);
    assert.ok(err instanceof TypeError, `${err}`);
    assert.match(err.message, new RegExp(`Content-Length says ${declared} bytes`));
  }
  // Over: the chunk that would cross the length is not sent (2 of 4); short: all 5 went, then the conn ended.
  assert.deepEqual(await Promise.all(counted.map((c) => c.promise)), [2, 5]);
  server.listener.close();
  await server.done;
});

Deno.test("bytes a server sends when no request is in flight close that conn; the next request dials anew", async () => {
  let first = true;
  let closedByClient!: () => void;
  const clientClosed = new Promise<void>((resolve) => closedByClient = resolve);
  const server = rawServer(async (conn) => {
    await conn.write(encoder.encode("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    if (!first) return true;
    first = false;
    // Once the answer is read, bytes nobody asked for; the client must hang up on them.
    await new Promise((resolve) => setTimeout(resolve, 5));
    await conn.write(encoder.encode("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nextra")).catch(() => {});
    const buf = new Uint8Array(64);
    while (await conn.read(buf).catch(() => null) !== null) { /* until the client closes */ }
    closedByClient();
    return false;
  });
  await using fetch = createFetch(server.listener.dialer());
  assert.equal(await (await fetch("http://x/")).text(), "ok");
  await clientClosed;
  assert.equal(await (await fetch("http://x/")).text(), "ok");
  assert.equal(server.dials(), 2);
  server.listener.close();
  await server.done;
});

Deno.test("a request body stream that fails rejects the fetch with a TypeError carrying its error, on a new or a pooled conn", async () => {
  const server = rawServer(async (conn, head) => {
    if (head.startsWith("POST")) {
      // Read what comes until the client gives up on the conn.
      const buf = new Uint8Array(1024);
      while (await conn.read(buf).catch(() => null) !== null) { /* drop it */ }
      return false;
    }
    await conn.write(encoder.encode("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    return true;
  });
  await using fetch = createFetch(server.listener.dialer());
  // It fails while being sent, not at once (a body that fails at once fails the fetch before anything goes).
  const failing = () =>
    new ReadableStream<Uint8Array>({
      async pull(controller) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        controller.error(new Error("the source broke"));
      },
    });
  const post = () =>
    fetch("http://x/", { method: "POST", body: failing(), duplex: "half" } as RequestInit).catch((e) => e);
  const fresh = await post();
  assert.ok(fresh instanceof TypeError, `${fresh}`);
  assert.match(fresh.message, /its body failed: Error: the source broke/);
  assert.equal(await (await fetch("http://x/")).text(), "ok"); // leaves a pooled conn
  const pooled = await post();
  assert.ok(pooled instanceof TypeError, `${pooled}`);
  assert.match(pooled.message, /its body failed/);
  server.listener.close();
  await server.done;
});

Deno.test("an answer that comes before the upload is all out stops the upload and ends that conn; the next request dials anew", async () => {
  // It reads the upload's bytes as the next "heads", for as long as they come.
  const server = answering("HTTP/1.1 413 Content Too Large\r\nContent-Length: 8\r\n\r\ntoo much");
  await using fetch = createFetch(server.listener.dialer());
  let cancelled!: () => void;
  const uploadCancelled = new Promise<void>((resolve) => cancelled = resolve);
  const endless = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.enqueue(new Uint8Array(16 * 1024));
    },
    cancel: () => cancelled(),
  });
  const res = await fetch(
    "http://x/upload",
    { method: "POST", body: endless, duplex: "half" } as RequestInit,
  );
  assert.equal(res.status, 413);
  assert.equal(await res.text(), "too much");
  await uploadCancelled; // RFC 9112 §9.5: the server wants no more of it
  assert.equal(server.dials(), 1);
  // The conn, mid-request, is not handed to the next request.
  const next = await fetch("http://x/");
  assert.equal(next.status, 413);
  await next.text();
  assert.equal(server.dials(), 2);
  server.listener.close();
  await server.done;
});

for (
  const [what, reply] of [
    [
      "a bad chunk size in the read that brought the head",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
    ["a huge chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\n"],
  ]
) {
  Deno.test(`an answer whose head is followed by garbage (${what}) rejects the fetch with a TypeError`, async () => {
    const server = answering(reply);
    await using fetch = createFetch(server.listener.dialer());
    const err = await fetch("http://x/", { signal: AbortSignal.timeout(10_000) }).catch((e) => e);
    assert.ok(err instanceof TypeError && !(err instanceof DOMException), `${err}`);
    server.listener.close();
    await server.done;
  });
}

for (
  const [what, reply, status, body] of [
    ["a 204 that carries a body", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello", 204, ""],
    ["a body longer than its Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokX", 200, "ok"],
    [
      "a second answer pipelined behind it",
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 500 Evil\r\nX-Evil: 1\r\nContent-Length: 4\r\n\r\nevil",
      200,
      "ok",
    ],
  ] as const
) {
  Deno.test(`a whole answer followed by ${what} stands as it is, and its conn is not reused`, async () => {
    const server = answering(reply);
    await using fetch = createFetch(server.listener.dialer());
    for (let i = 1; i <= 2; i++) {
      const res = await fetch("http://x/", { signal: AbortSignal.timeout(10_000) });
      assert.equal(res.status, status);
      assert.equal(res.headers.get("x-evil"), null);
      assert.equal(await res.text(), body);
      assert.equal(server.dials(), i, "each request on a conn of its own");
    }
    server.listener.close();
    await server.done;
  });
}

Deno.test("the client alone sets Host, Content-Length and Transfer-Encoding: a caller's never lets body bytes pass for a request", async () => {
  const heads: string[] = [];
  const bodies: string[] = [];
  const server = rawServer(async (conn, head) => {
    heads.push(head);
    const length = Number(/content-length: (\d+)/.exec(head)?.[1] ?? 0);
    const buf = new Uint8Array(length);
    for (let got = 0; got < length;) got += (await conn.read(buf.subarray(got)))!;
    bodies.push(decoder.decode(buf));
    await conn.write(encoder.encode("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
    return true;
  });
  await using fetch = createFetch(server.listener.dialer());
  const smuggled = "aGET /admin HTTP/1.1\r\nhost: x\r\n\r\n";
  const res = await fetch("http://x/", {
    method: "POST",
    headers: { "content-length": "1", "transfer-encoding": "chunked", host: "evil" },
    body: smuggled,
  });
  await res.arrayBuffer();
  assert.equal(heads.length, 1, "one request reached the server");
  const lines = heads[0].split("\r\n");
  assert.deepEqual(lines.filter((l) => l.startsWith("host:")), ["host: x"]);
  assert.deepEqual(lines.filter((l) => l.startsWith("content-length:")), [
    `content-length: ${smuggled.length}`,
  ]);
  assert.deepEqual(lines.filter((l) => l.startsWith("transfer-encoding:")), []);
  assert.deepEqual(bodies, [smuggled]);
  server.listener.close();
  await server.done;
});

Deno.test("a conn that answered 101 is not pooled for the next request", async () => {
  const server = answering("HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\nConnection: upgrade\r\n\r\n");
  await using fetch = createFetch(server.listener.dialer());
  for (let i = 0; i < 2; i++) {
    await assert.rejects(fetch("http://x/", { signal: AbortSignal.timeout(10_000) }), TypeError);
  }
  assert.equal(server.dials(), 2);
  server.listener.close();
  await server.done;
});

Deno.test("close() fails the requests in flight with a TypeError and refuses later ones", async () => {
  const server = rawServer(() => new Promise<boolean>(() => {})); // never answers
  const fetch = createFetch(server.listener.dialer());
  const pending = fetch("http://x/").catch((e) => e);
  await new Promise((resolve) => setTimeout(resolve, 10));
  fetch.close();
  const err = await pending;
  assert.ok(err instanceof TypeError, `${err}`);
  assert.ok(err.cause instanceof ConnClosedError, `${err.cause}`);
  await assert.rejects(fetch("http://x/"), /closed/);
  server.listener.close();
});
