/** The package's one check of whole-number options. */
import assert from "node:assert/strict";
import { checkWhole } from "../_validate.ts";

Deno.test("checkWhole takes a safe integer in range, the fallback for undefined, and names what is wrong", () => {
  assert.equal(checkWhole(5, "n", 1, 10), 5);
  assert.equal(checkWhole(undefined, "n", 1, 10, 7), 7);
  assert.equal(checkWhole(0, "n", 0, 0), 0);
  for (const bad of [undefined, "5", 1.5, Number.NaN, Infinity, 2 ** 53, null]) {
    assert.throws(() => checkWhole(bad, "count", 0, Number.MAX_SAFE_INTEGER), TypeError, String(bad));
  }
  assert.throws(() => checkWhole(11, "count", 1, 10), /count must be from 1 to 10, got 11/);
  assert.throws(() => checkWhole(0, "count", 1, 10), RangeError);
  assert.throws(
    () => checkWhole(-1, "backlog", 0, Number.MAX_SAFE_INTEGER),
    /backlog must be 0 or more, got -1/,
  );
  assert.throws(() => checkWhole("x", "port", 0, 65535), /port must be a whole number, got "x"/);
});

Deno.test("every module's count and timeout options are checked alike", async () => {
  const { mux } = await import("../mux/mod.ts");
  const { pipe, listen } = await import("../mod.ts");
  const { secureListener } = await import("../crypto/mod.ts");
  const { connectClient } = await import("../ipc/mod.ts");
  const [a] = pipe();
  assert.throws(() => mux(a, { role: "client", maxStreams: 0 }), RangeError);
  assert.throws(() => mux(a, { role: "client", maxStreams: 1.5 }), TypeError);
  assert.throws(() => listen({ transport: "memory", backlog: -1 }), RangeError);
  assert.throws(() => listen({ transport: "memory", backlog: "2" as unknown as number }), TypeError);
  const inner = listen({ transport: "memory" });
  assert.throws(() => secureListener(inner, { backlog: 0 }), RangeError);
  assert.throws(() => connectClient({ name: "x", retryDelay: -5 }), RangeError);
  assert.throws(() => connectClient({ name: "x", maxQueuedWrites: 0.5 }), TypeError);
  inner.close();
  a.close();
});
