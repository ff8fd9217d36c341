/**
 * Fuzzes serveHttp with malformed requests: valid requests mutated at
 * random (bytes flipped, inserted, dropped, cut short) and plain garbage,
 * each written raw on its own memory conn, then half-closed. Every conn
 * must end with HTTP responses or nothing (never a hang), and the server
 * must still answer afterwards.
 *
 * TETHER_FUZZ_ITERATIONS sets the count (CI default below), TETHER_FUZZ_SEED
 * the seed: a failure prints both to replay it.
 */

import assert from "node:assert/strict";
import { type Conn, listen } from "../mod.ts";
import { serveHttp } from "../http/mod.ts";
import { seededRandom } from "../testing/_random.ts";
import { envNumber } from "./fuzz_helpers.ts";
import { app } from "./fixtures/http_app.ts";

const ITERATIONS = envNumber("TETHER_FUZZ_ITERATIONS", 300);
const SEED = envNumber("TETHER_FUZZ_SEED", 0x4854_5450);
const HANG_MS = 10_000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const VALID = [
  "GET /hello?name=fuzz HTTP/1.1\r\nHost: app\r\nAccept: */*\r\n\r\n",
  'POST /items HTTP/1.1\r\nHost: app\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{"name":"fuzzy"}',
  "POST /upload HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
  "HEAD /hello HTTP/1.1\r\nHost: app\r\n\r\nGET /items/1 HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n",
  "GET /stream?lines=3 HTTP/1.0\r\n\r\n",
  "PUT /items HTTP/1.1\r\nHost: app\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}",
].map((text) => encoder.encode(text));

/** Everything the server sends until it closes, as text; the signal bounds the wait. */
async function readAll(conn: Conn, signal: AbortSignal): Promise<string> {
  const buf = new Uint8Array(16 * 1024);
  let text = "";
  for (let n; (n = await conn.read(buf, { signal })) !== null;) text += decoder.decode(buf.subarray(0, n));
  return text;
}

function mutate(next: () => number, input: Uint8Array): Uint8Array {
  const below = (n: number) => Math.floor(next() * n);
  const bytes = Array.from(input);
  for (let edits = 1 + below(4); edits > 0; edits--) {
    const at = below(bytes.length + 1);
    switch (below(5)) {
      case 0:
        bytes[at] = below(256);
        break;
      case 1:
        bytes.splice(at, 0, below(256));
        break;
      case 2:
        bytes.splice(at, 1 + below(8));
        break;
      case 3:
        bytes.length = at; // cut short
        break;
      default:
        // A structural character where it does not belong.
        bytes.splice(at, 0, ...encoder.encode([" ", "\r\n", ":", "\n", "\0", "-1"][below(6)]));
    }
  }
  return new Uint8Array(bytes);
}

function garbage(next: () => number): Uint8Array {
  return Uint8Array.from({ length: Math.floor(next() * 300) }, () => Math.floor(next() * 256));
}

Deno.test(`serveHttp answers ${ITERATIONS} malformed requests with responses or a closed conn, and carries on`, async () => {
  const next = seededRandom(SEED);
  const listener = listen({ transport: "memory" });
  await using fixture = serveHttp(listener, app(), {
    onError: () => new Response("handler failed", { status: 500 }),
  });
  const statuses = new Map<string, number>();
  for (let i = 0; i < ITERATIONS; i++) {
    const input = next() < 0.15 ? garbage(next) : mutate(next, VALID[Math.floor(next() * VALID.length)]);
    const replay = `(TETHER_FUZZ_SEED=${SEED} TETHER_FUZZ_ITERATIONS=${ITERATIONS}, case ${i})`;
    await using conn = await listener.dialer().dial();
    await conn.write(input);
    await conn.closeWrite();
    const answer = await readAll(conn, AbortSignal.timeout(HANG_MS)).catch((err) => `read failed: ${err}`);
    assert.match(
      answer,
      /^(HTTP\/1\.[01] \d{3} [^\r\n]*\r\n[\s\S]*)?$/,
      `${replay}: ${JSON.stringify(answer)}`,
    );
    const status = answer.slice(9, 12) || "closed";
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
  }
  // Both outcomes came up: the fuzzing reached the parser's errors and the handler.
  assert.ok(statuses.has("400"), `statuses seen: ${[...statuses]}`);
  assert.ok([...statuses.keys()].some((s) => s.startsWith("2")), `statuses seen: ${[...statuses]}`);
  const res = await fixture.fetch("http://app/hello", { signal: AbortSignal.timeout(HANG_MS) });
  assert.deepEqual(await res.json(), { hello: "world" });
});
