import assert from "node:assert/strict";
import { SharedTimer } from "../_async/shared_timer.ts";
import { delay } from "../_async/delay.ts";

Deno.test("a shared timer fires each deadline once, earliest first, and never one that was removed", async () => {
  const timer = new SharedTimer();
  const fired: string[] = [];
  const [a, b, c] = [{}, {}, {}];
  timer.add(b, 20, () => fired.push("b"));
  timer.add(a, 1, () => fired.push("a"));
  timer.add(c, 10, () => fired.push("c"));
  timer.remove(c);
  await delay(60);
  assert.deepEqual(fired, ["a", "b"]);
  await delay(20);
  assert.deepEqual(fired, ["a", "b"]);
});

Deno.test("a sweep that comes late fires every deadline due, earliest first", async () => {
  const timer = new SharedTimer({ unref: true });
  const fired: string[] = [];
  const [a, b] = [{}, {}];
  timer.add(b, 20, () => fired.push("b"));
  timer.add(a, 1, () => fired.push("a"));
  // Busy past both deadlines, as a loaded machine is: the one sweep then finds both due.
  const until = performance.now() + 40;
  while (performance.now() < until) { /* spin */ }
  await delay(30);
  assert.deepEqual(fired, ["a", "b"]);
});

Deno.test("a shared timer takes deadlines added while one fires, and a key's new deadline replaces its old one", async () => {
  const timer = new SharedTimer({ unref: true });
  const fired: string[] = [];
  const [a, b] = [{}, {}];
  timer.add(a, 1, () => fired.push("a"));
  timer.add(a, 5, () => {
    fired.push("a again");
    timer.add(b, 1, () => fired.push("b"));
  });
  // The unref'd timer does not hold the test open: a ref'd delay does.
  await delay(80);
  assert.deepEqual(fired, ["a again", "b"]);
});

Deno.test("an unref'd shared timer left armed by a removed deadline still fires the next one, and not early", async () => {
  const timer = new SharedTimer({ unref: true });
  const fired: string[] = [];
  const [a, b] = [{}, {}];
  timer.add(a, 1, () => fired.push("a"));
  timer.remove(a);
  const start = performance.now();
  let at = 0;
  timer.add(b, 30, () => {
    at = performance.now();
    fired.push("b");
  });
  await delay(100);
  assert.deepEqual(fired, ["b"]);
  assert.ok(at - start >= 29, `fired after ${at - start} ms`); // never before its time (timers round to 1 ms)
});

Deno.test("a deadline past what a runtime timer takes (2^31 - 1 ms) is not fired early", async () => {
  const timer = new SharedTimer({ unref: true });
  let fired = false;
  const key = {};
  timer.add(key, 3e9, () => fired = true);
  await delay(50);
  assert.equal(fired, false);
  timer.remove(key);
});
