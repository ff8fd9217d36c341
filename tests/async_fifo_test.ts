import assert from "node:assert/strict";
import { Fifo } from "../_async/fifo.ts";

Deno.test("Fifo: shift gives items in push order; length, at and iteration see head to tail", () => {
  const fifo = new Fifo<string>();
  for (const s of ["a", "b", "c"]) fifo.push(s);
  assert.equal(fifo.length, 3);
  assert.equal(fifo.at(0), "a");
  assert.equal(fifo.at(2), "c");
  assert.equal(fifo.shift(), "a");
  assert.deepEqual([...fifo], ["b", "c"]);
  assert.equal(fifo.at(0), "b");
  assert.equal(fifo.shift(), "b");
  assert.equal(fifo.shift(), "c");
  assert.equal(fifo.length, 0);
  assert.deepEqual([...fifo], []);
});

Deno.test("Fifo: positions count from the head after shifts: indexOf, removeAt, removeFrom", () => {
  const fifo = new Fifo<number>();
  for (let i = 0; i < 6; i++) fifo.push(i);
  fifo.shift();
  fifo.shift(); // 2 3 4 5
  assert.equal(fifo.indexOf(4), 2);
  assert.equal(fifo.indexOf(0), -1, "a shifted item is gone");
  assert.equal(fifo.indexOf(99), -1);
  fifo.removeAt(1); // 2 4 5
  assert.deepEqual([...fifo], [2, 4, 5]);
  assert.deepEqual(fifo.removeFrom(1), [4, 5]);
  assert.deepEqual([...fifo], [2]);
  assert.deepEqual(fifo.removeFrom(0), [2]);
  assert.equal(fifo.length, 0);
});

Deno.test("Fifo: order and positions hold across compaction, with pushes and shifts interleaved", () => {
  const fifo = new Fifo<number>();
  let next = 0;
  let expected = 0;
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 100; i++) fifo.push(next++);
    for (let i = 0; i < 70; i++) assert.equal(fifo.shift(), expected++);
    assert.equal(fifo.length, next - expected);
    assert.equal(fifo.at(0), expected);
    assert.equal(fifo.indexOf(next - 1), next - 1 - expected);
  }
  assert.deepEqual([...fifo], Array.from({ length: next - expected }, (_, i) => expected + i));
});

Deno.test("Fifo: pushes after it empties start afresh", () => {
  const fifo = new Fifo<string>();
  fifo.push("x");
  fifo.shift();
  fifo.push("y");
  assert.equal(fifo.at(0), "y");
  assert.equal(fifo.indexOf("y"), 0);
  assert.equal(fifo.length, 1);
});
