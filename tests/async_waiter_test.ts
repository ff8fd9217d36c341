import assert from "node:assert/strict";
import { noop, onAbort, waiter } from "../_async/waiter.ts";
import { stateOf } from "./async_helpers.ts";

Deno.test("waiter: settles once, with the first resolve or reject", async () => {
  const w = waiter<number>();
  assert.equal(await stateOf(w.promise), "pending");
  w.resolve(1);
  w.resolve(2);
  w.reject(new Error("too late"));
  assert.equal(await w.promise, 1);

  const failed = waiter<number>(new AbortController().signal);
  const reason = new Error("first");
  failed.reject(reason);
  failed.resolve(3);
  await assert.rejects(failed.promise, (e) => e === reason);
});

Deno.test("waiter: an abort runs onAbort once and rejects with the signal's reason", async () => {
  const controller = new AbortController();
  const calls: unknown[] = [];
  const w = waiter<number>(controller.signal, (reason) => void calls.push(reason));
  const reason = new Error("stop");
  controller.abort(reason);
  await assert.rejects(w.promise, (e) => e === reason);
  assert.deepEqual(calls, [reason]);
  w.resolve(1); // settled already: nothing changes
  assert.deepEqual(calls, [reason]);
});

Deno.test("waiter: what onAbort returns replaces the reason, unless it is undefined", async () => {
  const controller = new AbortController();
  const replaced = new Error("replaced");
  const w = waiter<void>(controller.signal, () => replaced);
  controller.abort(new Error("original"));
  await assert.rejects(w.promise, (e) => e === replaced);
});

Deno.test("waiter: settling first detaches from the signal, so a later abort runs nothing", async () => {
  for (const settle of ["resolve", "reject"] as const) {
    const controller = new AbortController();
    let aborted = 0;
    const w = waiter<number>(controller.signal, () => void aborted++);
    if (settle === "resolve") w.resolve(7);
    else w.reject(new Error("failed first"));
    controller.abort();
    assert.equal(
      await w.promise.then(() => "fulfilled", () => "rejected"),
      settle === "resolve" ? "fulfilled" : "rejected",
    );
    assert.equal(aborted, 0, `onAbort ran after ${settle}`);
  }
});

Deno.test("waiter: a signal that had already aborted rejects at once, through onAbort, and settling later changes nothing", async () => {
  let aborted = 0;
  const reason = new Error("too late");
  const w = waiter<number>(AbortSignal.abort(reason), () => void aborted++);
  assert.equal(aborted, 1);
  w.resolve(1);
  await assert.rejects(w.promise, (e) => e === reason);
  const replaced = new Error("replaced");
  await assert.rejects(
    waiter<number>(AbortSignal.abort(reason), () => replaced).promise,
    (e) => e === replaced,
  );
});

Deno.test("onAbort: runs once when the signal aborts, never after detaching, and nothing without a signal", () => {
  const controller = new AbortController();
  let runs = 0;
  onAbort(controller.signal, () => runs++);
  const detached = new AbortController();
  const detach = onAbort(detached.signal, () => runs++);
  detach();
  controller.abort();
  controller.abort();
  detached.abort();
  assert.equal(runs, 1);
  assert.equal(onAbort(undefined, () => runs++), noop);
  assert.equal(noop(), undefined);
});
