// The package's shared pool of copy buffers.
import assert from "node:assert/strict";
import { giveBuffer, pooled, takeBuffer } from "../_copy_buffers.ts";

Deno.test("the pool keeps a 1 KiB buffer given back (a small secure() record's) and hands the same one out again", () => {
  const buffer = takeBuffer(1024);
  const before = pooled();
  giveBuffer(buffer);
  assert.equal(pooled(), before + 1024, "a 1 KiB buffer given back is kept");
  assert.equal(takeBuffer(1024), buffer, "and taken again");
  assert.equal(pooled(), before);
});

Deno.test("the pool keeps nothing below 1 KiB, of a size not a power of two, or over 1 MiB", () => {
  const before = pooled();
  for (const size of [0, 16, 512, 3000, 2 * 1024 * 1024]) giveBuffer(new Uint8Array(size));
  assert.equal(pooled(), before);
});
