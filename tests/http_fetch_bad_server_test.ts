// createFetch against servers that do not speak HTTP.
import assert from "node:assert/strict";
import { ConnClosedError, listen, ProtocolError } from "../mod.ts";
import { createFetch } from "../http/mod.ts";

Deno.test("a fetch answered with bytes that are not HTTP rejects with a TypeError whose cause is a ProtocolError naming the origin", async () => {
  await using listener = listen({ transport: "memory" });
  const serving = (async () => {
    for await (const conn of listener) {
      // An echo server: the client reads its own request back as the "response".
      conn.readable.pipeTo(conn.writable).catch(() => conn.close());
    }
  })();
  await using fetch = createFetch(listener.dialer());
  const err = await fetch("http://echo/").then(() => assert.fail("a response"), (e) => e);
  assert.ok(err instanceof TypeError, `${err}`);
  assert.ok(err.cause instanceof ProtocolError, `cause: ${err.cause}`);
  assert.match(err.cause.message, /^fetch http:\/\/echo: protocol error \(.*Expected HTTP/);
  // The server carries on: the next fetch meets the same echo, and the same error.
  await assert.rejects(fetch("http://echo/"), (e: TypeError) => e.cause instanceof ProtocolError);
  listener.close();
  await serving;
});

Deno.test("a fetch whose server hangs up without answering rejects with a TypeError whose cause is a ConnClosedError", async () => {
  await using listener = listen({ transport: "memory" });
  const serving = (async () => {
    for await (const conn of listener) conn.close();
  })();
  await using fetch = createFetch(listener.dialer());
  const err = await fetch("http://gone/").then(() => assert.fail("a response"), (e) => e);
  assert.ok(err instanceof TypeError, `${err}`);
  assert.ok(err.cause instanceof ConnClosedError, `cause: ${err.cause}`);
  listener.close();
  await serving;
});
