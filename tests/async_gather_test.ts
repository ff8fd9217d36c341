import assert from "node:assert/strict";
import { gather } from "../_async/gather.ts";

const limits = { enough: 100, quietTurns: 4, maxTurns: 50 };

/** A writer that adds `size` bytes every `every` microtask turns, `times` times. */
function writer(size: number, every: number, times: number): { queued: () => number; done: Promise<void> } {
  let queued = 0;
  const done = (async () => {
    for (let i = 0; i < times; i++) {
      for (let t = 0; t < every; t++) await undefined;
      queued += size;
    }
  })();
  return { queued: () => queued, done };
}

Deno.test("gather waits while a writer running ahead keeps adding, and returns all it added", async () => {
  const w = writer(10, 2, 5);
  assert.equal(await gather(w.queued, limits), 50);
  await w.done;
});

Deno.test("gather stops once enough is queued, without waiting for the writer to finish", async () => {
  const w = writer(30, 1, 10);
  const got = await gather(w.queued, limits);
  assert.ok(got >= 100 && got < 300, `stopped at ${got}`);
  await w.done;
});

Deno.test("gather stops after its quiet turns when nothing more comes", async () => {
  let turns = 0;
  const counting = (async () => {
    for (let i = 0; i < 100; i++) (await undefined, turns++);
  })();
  assert.equal(await gather(() => 7, limits), 7);
  assert.ok(turns <= limits.quietTurns + 1, `waited ${turns} turns`);
  await counting;
});

Deno.test("gather stops after its most turns in all, even while a slow trickle goes on", async () => {
  const w = writer(1, 3, 1000);
  const got = await gather(w.queued, { enough: 10_000, quietTurns: 4, maxTurns: 30 });
  assert.ok(got <= 11, `gathered ${got} past 30 turns`);
  await w.done;
});
