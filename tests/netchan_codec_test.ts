import assert from "node:assert/strict";
import { jsonCodec, msgpackCodec } from "../netchan/mod.ts";

Deno.test("the default codec round-trips JSON values plus bytes, Date, Map, Set, BigInt and undefined", () => {
  const value = {
    text: "ünïcode ✓",
    numbers: [0, -1, 1.5, Number.MAX_SAFE_INTEGER, 1e300],
    flags: [true, false, null],
    bytes: new Uint8Array([0, 127, 128, 255]),
    at: new Date(Date.UTC(2024, 1, 29, 12, 0, 0, 7)),
    index: new Map<unknown, unknown>([["a", 1], [2, { b: [3] }], [true, null]]),
    onlyStrings: new Map([["x", "y"]]),
    tags: new Set(["a", 1, null]),
    big: [0n, -5n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 200n, -(3n ** 99n)],
    missing: undefined,
    list: [undefined, { deep: undefined }],
    empty: { map: new Map(), set: new Set(), object: {}, array: [] },
  };
  const back = msgpackCodec.decode(msgpackCodec.encode(value)) as typeof value;
  assert.deepEqual(back, value);
  assert.ok(back.onlyStrings instanceof Map, "a Map of string keys stays a Map, apart from objects");
  assert.equal(Object.getPrototypeOf(back.bytes), Uint8Array.prototype);
  assert.ok("missing" in back, "an undefined property is kept");
});

Deno.test("the default codec encodes bytes as raw binary, not base64", () => {
  const bytes = crypto.getRandomValues(new Uint8Array(1000));
  const encoded = msgpackCodec.encode(bytes);
  assert.ok(encoded.length < 1010, `${encoded.length} bytes for 1000`);
});

Deno.test("the default codec refuses bytes that are not one whole value", () => {
  const encoded = msgpackCodec.encode({ a: [1, 2, 3] });
  assert.throws(() => msgpackCodec.decode(encoded.subarray(0, encoded.length - 1)));
  assert.throws(() => msgpackCodec.decode(new Uint8Array([...encoded, 0x01])));
});

Deno.test("jsonCodec carries JSON values and refuses what JSON would mangle", () => {
  assert.deepEqual(jsonCodec.decode(jsonCodec.encode({ a: [1, "b", null] })), { a: [1, "b", null] });
  assert.throws(() => jsonCodec.encode({ n: 1n }), /BigInt \(at key "n"\): use msgpackCodec/);
  assert.throws(() => jsonCodec.encode(new Map()), /Map/);
  assert.throws(() => jsonCodec.decode(new Uint8Array([0xff])));
});

Deno.test("netchan and its codec work where code generation is forbidden (edge and worker isolates)", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--v8-flags=--disallow-code-generation-from-strings",
      new URL("./fixtures/netchan_no_eval.ts", import.meta.url).pathname,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  assert.match(new TextDecoder().decode(stdout), /^ok 200$/m);
});
