import assert from "node:assert/strict";
import { WaitQueue } from "../_async/wait_queue.ts";
import { stateOf } from "./async_helpers.ts";

Deno.test("WaitQueue: callers are served in call order, each with what it brought", async () => {
  const queue = new WaitQueue<string, number>();
  const served = [1, 2, 3].map((n) => queue.wait(n));
  assert.equal(queue.length, 3);
  assert.equal(queue.first().data, 1);
  while (queue.length > 0) queue.resolveNext(`for ${queue.first().data}`);
  assert.deepEqual(await Promise.all(served), ["for 1", "for 2", "for 3"]);
  assert.equal(queue.resolveNext("nobody"), false);
});

Deno.test("WaitQueue: a caller whose signal aborts leaves the line; the one behind it is served next", async () => {
  const queue = new WaitQueue<string>();
  const controller = new AbortController();
  const first = queue.wait(undefined);
  const leaving = queue.wait(undefined, controller.signal);
  const last = queue.wait(undefined);
  const reason = new Error("gone");
  controller.abort(reason);
  await assert.rejects(leaving, (e) => e === reason);
  assert.equal(queue.length, 2);
  assert.equal(queue.resolveNext("a"), true);
  assert.equal(queue.resolveNext("b"), true);
  assert.deepEqual(await Promise.all([first, last]), ["a", "b"]);
});

Deno.test("WaitQueue: what onAbort returns is the rejection", async () => {
  const queue = new WaitQueue<void>();
  const controller = new AbortController();
  const mapped = new Error("accept timed out");
  const waiting = queue.wait(undefined, controller.signal, () => mapped);
  controller.abort(new Error("raw"));
  await assert.rejects(waiting, (e) => e === mapped);
  assert.equal(queue.length, 0);
});

Deno.test("WaitQueue: an abort after being served takes nobody else out of the line", async () => {
  const queue = new WaitQueue<number>();
  const controller = new AbortController();
  const served = queue.wait(undefined, controller.signal);
  const behind = queue.wait(undefined);
  queue.resolveNext(1);
  controller.abort();
  assert.equal(await served, 1);
  assert.equal(queue.length, 1);
  queue.resolveNext(2);
  assert.equal(await behind, 2);
});

Deno.test("WaitQueue: shift and drain take callers out in order, unserved; rejectAll rejects everyone", async () => {
  const queue = new WaitQueue<number, string>();
  const a = queue.wait("a"), b = queue.wait("b"), c = queue.wait("c");
  const head = queue.shift();
  assert.equal(head.data, "a");
  assert.equal(await stateOf(a), "pending");
  head.resolve(0);
  assert.equal(await a, 0);
  assert.deepEqual(queue.drain().map((w) => w.data), ["b", "c"]);
  assert.equal(queue.length, 0);
  assert.equal(await stateOf(b), "pending");

  const reason = new Error("closed");
  const d = queue.wait("d"), e = queue.wait("e");
  queue.rejectAll(reason);
  assert.equal(queue.length, 0);
  await assert.rejects(d, (err) => err === reason);
  await assert.rejects(e, (err) => err === reason);
  void c;
});

Deno.test("WaitQueue: a caller taken out unserved and then aborted takes nobody else out of the line", async () => {
  const queue = new WaitQueue<string>();
  const controller = new AbortController();
  const taken = queue.wait(undefined, controller.signal);
  const b = queue.wait(undefined), c = queue.wait(undefined);
  const head = queue.shift(); // out of the line, not settled yet
  controller.abort(new Error("left while being handled"));
  await assert.rejects(taken, /left while being handled/);
  head.resolve("too late"); // settled already: ignored
  assert.equal(queue.length, 2);
  queue.resolveNext("b");
  queue.resolveNext("c");
  assert.deepEqual(await Promise.all([b, c]), ["b", "c"]);
});

Deno.test("WaitQueue: a caller whose signal already aborted never joins the line, so no value is served to it", async () => {
  const queue = new WaitQueue<number>();
  const reason = new Error("gone already");
  await assert.rejects(queue.wait(undefined, AbortSignal.abort(reason)), (e) => e === reason);
  assert.equal(queue.length, 0);
  const waiting = queue.wait(undefined);
  assert.equal(queue.resolveNext(7), true);
  assert.equal(await waiting, 7);
});
