import assert from "node:assert/strict";
import { OrderedLock } from "../_async/ordered_lock.ts";
import { stateOf } from "./async_helpers.ts";

Deno.test("OrderedLock: tryAcquire takes a free lock and refuses a held one; release frees it", () => {
  const lock = new OrderedLock();
  assert.equal(lock.tryAcquire(), true);
  assert.equal(lock.tryAcquire(), false);
  lock.release();
  assert.equal(lock.tryAcquire(), true);
});

Deno.test("OrderedLock: turns are granted in call order, one holder at a time", async () => {
  const lock = new OrderedLock();
  const order: number[] = [];
  let holders = 0;
  await Promise.all([1, 2, 3, 4].map(async (n) => {
    await lock.acquire();
    holders++;
    assert.equal(holders, 1, "two holders at once");
    order.push(n);
    await new Promise((resolve) => setTimeout(resolve, 1));
    holders--;
    lock.release();
  }));
  assert.deepEqual(order, [1, 2, 3, 4]);
  assert.equal(lock.tryAcquire(), true, "free after the last release");
});

Deno.test("OrderedLock: a waiter whose signal aborts leaves the line having held nothing", async () => {
  const lock = new OrderedLock();
  await lock.acquire();
  const controller = new AbortController();
  const leaving = lock.acquire(controller.signal);
  const next = lock.acquire();
  const reason = new Error("timed out waiting");
  controller.abort(reason);
  await assert.rejects(leaving, (e) => e === reason);
  lock.release();
  await next; // the turn skips the one that left
  assert.equal(lock.tryAcquire(), false);
  lock.release();
  assert.equal(lock.tryAcquire(), true);
});

Deno.test("OrderedLock: an already-aborted signal rejects at once and takes nothing, free or held", async () => {
  const lock = new OrderedLock();
  const reason = new Error("no time");
  await assert.rejects(lock.acquire(AbortSignal.abort(reason)), (e) => e === reason);
  assert.equal(lock.tryAcquire(), true, "the lock stayed free");
  await assert.rejects(lock.acquire(AbortSignal.abort(reason)), (e) => e === reason);
  const next = lock.acquire();
  assert.equal(await stateOf(next), "pending");
  lock.release();
  await next;
});
