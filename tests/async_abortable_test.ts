import assert from "node:assert/strict";
import { abortable } from "../_async/abortable.ts";
import { waiter } from "../_async/waiter.ts";

Deno.test("abortable: without a signal it is the work itself", () => {
  const work = Promise.resolve(1);
  assert.equal(abortable(work, undefined), work);
});

Deno.test("abortable: the work's outcome when it settles before the signal aborts", async () => {
  const controller = new AbortController();
  assert.equal(await abortable(Promise.resolve(5), controller.signal), 5);
  const failure = new Error("work failed");
  await assert.rejects(abortable(Promise.reject(failure), controller.signal), (e) => e === failure);
  controller.abort(); // after the fact: nothing to do
});

Deno.test("abortable: an abort rejects at once with the reason; a late success goes to late()", async () => {
  const controller = new AbortController();
  const work = waiter<string>();
  const late: string[] = [];
  const waiting = abortable(work.promise, controller.signal, (v) => late.push(v));
  const reason = new Error("gave up");
  controller.abort(reason);
  await assert.rejects(waiting, (e) => e === reason);
  work.resolve("conn nobody will use");
  await work.promise;
  assert.deepEqual(late, ["conn nobody will use"]);
});

Deno.test("abortable: a late failure after an abort is dropped, not unhandled", async () => {
  const controller = new AbortController();
  const work = waiter<string>();
  const waiting = abortable(work.promise, controller.signal, () => assert.fail("late() on a failure"));
  controller.abort();
  await assert.rejects(waiting);
  work.reject(new Error("failed after the caller left"));
  await new Promise((resolve) => setTimeout(resolve, 0)); // an unhandled rejection would fail this test
});

Deno.test("abortable: an already-aborted signal rejects at once, and the work's value still goes to late()", async () => {
  const reason = new Error("too late already");
  const late: number[] = [];
  await assert.rejects(
    abortable(Promise.resolve(3), AbortSignal.abort(reason), (v) => late.push(v)),
    (e) => e === reason,
  );
  await Promise.resolve();
  assert.deepEqual(late, [3]);
});

Deno.test("abortable: abortError makes the rejection from the reason, for a live or an already-aborted signal", async () => {
  const mapped = (reason: unknown) => new Error(`connect timed out (${(reason as Error).message})`);
  const controller = new AbortController();
  const waiting = abortable(new Promise(() => {}), controller.signal, undefined, mapped);
  controller.abort(new Error("deadline"));
  await assert.rejects(waiting, { message: "connect timed out (deadline)" });
  await assert.rejects(
    abortable(new Promise(() => {}), AbortSignal.abort(new Error("past")), undefined, mapped),
    { message: "connect timed out (past)" },
  );
});
