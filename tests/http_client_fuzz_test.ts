/**
 * Fuzzes createFetch's client with malformed answers: valid answers mutated
 * at random (bytes flipped, inserted, dropped, cut short, a second answer
 * spliced in) and plain garbage, each written raw by a server of our own
 * after the request head, on a conn it then closes or leaves open. Every
 * fetch must settle, with a `Response` whose body ends or errors, or with a
 * rejection (a `TypeError`, or the signal's reason), within its deadline:
 * never a hang, and the next fetch must still be answered.
 *
 * TETHER_FUZZ_ITERATIONS sets the count (CI default below), TETHER_FUZZ_SEED
 * the seed: a failure prints both to replay it.
 */

import assert from "node:assert/strict";
import { type Conn, listen } from "../mod.ts";
import { createFetch } from "../http/mod.ts";
import { envNumber, mutateBytes, Random, splice } from "./fuzz_helpers.ts";

const ITERATIONS = envNumber("TETHER_FUZZ_ITERATIONS", 300);
const SEED = envNumber("TETHER_FUZZ_SEED", 0x6665_7463);
/** A fetch left waiting on a conn the server holds open ends by its signal: short, as most inputs meet it. */
const DEADLINE_MS = 300;
const HANG_MS = 10_000;

const encoder = new TextEncoder();
const OK = encoder.encode("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");

const VALID = [
  "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
  "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
  "HTTP/1.1 204 No Content\r\n\r\n",
  "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
  "HTTP/1.0 200 OK\r\n\r\nuntil the server closes",
  "HTTP/1.1 302 Found\r\nLocation: /next\r\nContent-Length: 0\r\n\r\n",
  "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbye",
].map((text) => encoder.encode(text));

/** Reads one request head off `conn` (its body, if any, is left); `false` at EOF. */
async function readHead(conn: Conn): Promise<boolean> {
  const buf = new Uint8Array(1);
  let tail = "";
  while (!tail.endsWith("\r\n\r\n")) {
    if (await conn.read(buf).catch(() => null) === null) return false;
    tail = (tail + String.fromCharCode(buf[0])).slice(-4);
  }
  return true;
}

function mutate(random: Random, input: Uint8Array): Uint8Array {
  for (let r = 1 + random.below(3); r > 0; r--) {
    const kind = random.below(6);
    if (kind === 0) input = splice(input, random.below(input.length + 1), random.pick(VALID));
    else if (kind === 1) input = random.bytes(random.below(200));
    else input = mutateBytes(random, input);
  }
  return input;
}

Deno.test(`createFetch settles ${ITERATIONS} malformed answers with a response or a typed rejection, and carries on`, async () => {
  const random = new Random(SEED);
  const outcomes = { resolved: 0, bodyError: 0, rejected: 0 };
  for (let i = 0; i < ITERATIONS; i++) {
    const answer = random.below(5) === 0 ? random.pick(VALID) : mutate(random, random.pick(VALID));
    const closeAfter = random.below(5) !== 0;
    const where = `iteration ${i} (TETHER_FUZZ_SEED=${SEED}): ${
      JSON.stringify(new TextDecoder("latin1").decode(answer))
    }`;
    const listener = listen({ transport: "memory" });
    let first = true;
    const serving = (async () => {
      for await (const conn of listener) {
        const mine = first;
        first = false;
        (async () => {
          // The first conn gets the malformed answer; any later one (a retry, a redirect) a good one.
          while (await readHead(conn)) {
            await conn.write(mine ? answer : OK).catch(() => {});
            if (mine && closeAfter) break;
          }
          conn.close();
        })();
      }
    })();
    const fetch = createFetch(listener.dialer());
    try {
      const settled = fetch("http://x/", { signal: AbortSignal.timeout(DEADLINE_MS) }).then(
        async (res) => {
          try {
            await res.arrayBuffer();
            return "resolved" as const;
          } catch (err) {
            assert.ok(err instanceof TypeError || err instanceof DOMException, `${where}: body ${err}`);
            return "bodyError" as const;
          }
        },
        (err) => {
          assert.ok(err instanceof TypeError || err instanceof DOMException, `${where}: ${err}`);
          return "rejected" as const;
        },
      );
      let timer: ReturnType<typeof setTimeout> | undefined;
      const outcome = await Promise.race([
        settled,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`${where}: the fetch hung`)), HANG_MS);
        }),
      ]).finally(() => clearTimeout(timer));
      outcomes[outcome]++;
    } finally {
      fetch.close();
      listener.close();
      await serving;
    }
  }
  console.log(`seed ${SEED}, ${ITERATIONS} answers:`, outcomes);
  assert.ok(ITERATIONS < 100 || Object.values(outcomes).every((n) => n > 0), "every outcome was reached");
});
