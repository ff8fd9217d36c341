import assert from "node:assert/strict";
import { delay } from "../_async/delay.ts";
import { stateOf } from "./async_helpers.ts";

/** Runs `fn` counting the timers it leaves running (set and neither fired nor cleared). */
async function timersLeftBy(fn: () => Promise<void>): Promise<number> {
  const { setTimeout: set, clearTimeout: clear } = globalThis;
  type Id = ReturnType<typeof setTimeout>;
  const live = new Set<Id>();
  globalThis.setTimeout = ((cb: () => void, ms?: number) => {
    const id: Id = set(() => {
      live.delete(id);
      cb();
    }, ms);
    live.add(id);
    return id;
  }) as unknown as typeof setTimeout;
  globalThis.clearTimeout = ((id?: Id) => {
    if (id !== undefined) live.delete(id);
    clear(id);
  }) as typeof clearTimeout;
  try {
    await fn();
  } finally {
    globalThis.setTimeout = set;
    globalThis.clearTimeout = clear;
  }
  for (const id of live) clear(id);
  return live.size;
}

Deno.test("delay: resolves once the time has passed, not before", async () => {
  const started = performance.now();
  const sleeping = delay(30);
  assert.equal(await stateOf(sleeping), "pending");
  await sleeping;
  assert.ok(performance.now() - started >= 29, `woke after ${performance.now() - started} ms`);
});

Deno.test("delay: an abort rejects at once with the reason and clears the timer", async () => {
  const left = await timersLeftBy(async () => {
    const controller = new AbortController();
    const sleeping = delay(60_000, controller.signal);
    const reason = new Error("wake up");
    controller.abort(reason);
    await assert.rejects(sleeping, (e) => e === reason);
  });
  assert.equal(left, 0);
});

Deno.test("delay: an already-aborted signal rejects at once and leaves no timer", async () => {
  const left = await timersLeftBy(async () => {
    const reason = new Error("never mind");
    await assert.rejects(delay(60_000, AbortSignal.abort(reason)), (e) => e === reason);
  });
  assert.equal(left, 0);
});

Deno.test("delay: abortError makes the rejection from the reason", async () => {
  const controller = new AbortController();
  const sleeping = delay(60_000, controller.signal, (reason) => new Error(`retry wait cut short: ${reason}`));
  controller.abort("shutdown");
  await assert.rejects(sleeping, { message: "retry wait cut short: shutdown" });
  await assert.rejects(delay(60_000, AbortSignal.abort("now"), (r) => new Error(`mapped ${r}`)), {
    message: "mapped now",
  });
});

Deno.test("delay: an abort after it resolved changes nothing", async () => {
  const controller = new AbortController();
  await delay(1, controller.signal);
  controller.abort();
});
