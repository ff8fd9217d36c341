import assert from "node:assert/strict";
import * as v from "valibot";
import { z } from "zod";
import { ValidationError } from "../netchan/mod.ts";
import { collect, endpoints, nextErrors, overPipe, transports, within } from "./netchan_helpers.ts";

const zodOrder = z.object({ id: z.number().int(), item: z.string().min(1) });
const valibotOrder = v.object({
  id: v.pipe(v.number(), v.integer()),
  item: v.pipe(v.string(), v.minLength(1)),
});
const zodAsync = zodOrder.refine(async (o) => {
  await new Promise((r) => setTimeout(r, o.id % 3)); // finishes out of order
  return o.id !== 13;
}, "13 is unlucky");
const valibotAsync = v.pipeAsync(
  valibotOrder,
  v.checkAsync(async (o) => {
    await new Promise((r) => setTimeout(r, o.id % 3));
    return o.id !== 13;
  }, "13 is unlucky"),
);

const validators = [
  { name: "zod", schema: zodOrder, async: zodAsync },
  { name: "valibot", schema: valibotOrder, async: valibotAsync },
];

const orders = [
  { id: 1, item: "tea" },
  { id: "2", item: "milk" }, // wrong type
  { id: 3, item: "" }, // too short
  { id: 4, item: "jam" },
];

for (const transport of transports) {
  for (const { name, schema } of validators) {
    Deno.test(`${name}: values failing the schema never reach the reader and go to errors with their issues over ${transport.name}`, async () => {
      const ends = await endpoints(transport);
      const writer = ends.exp.export<unknown>("orders", "recv").getWriter();
      const received = ends.imp.import("orders", "recv", { schema, count: 2 });
      for (const order of orders) await writer.write(order);
      const got: { id: number; item: string }[] = await within(collect(received));
      assert.deepEqual(got, [{ id: 1, item: "tea" }, { id: 4, item: "jam" }]);
      const errors = await nextErrors(ends.imp.errors, 2);
      for (const [i, err] of errors.entries()) {
        assert.ok(err instanceof ValidationError, String(err));
        assert.equal(err.channel, "orders");
        assert.deepEqual(err.value, orders[i + 1]);
        assert.ok(err.issues.length > 0);
        assert.equal(err.code, "EVALIDATION");
      }
      assert.deepEqual(
        errors[0] instanceof ValidationError &&
          errors[0].issues[0].path?.map((p) => typeof p === "object" ? p.key : p),
        ["id"],
      );
      await ends.close();
    });
  }
}

for (const { name, async } of validators) {
  Deno.test(`${name}: an async schema keeps the order values arrived in, and returns credit for failures`, async () => {
    const ends = await endpoints(overPipe);
    const writer = ends.exp.export<unknown>("orders", "recv").getWriter();
    const received = ends.imp.import("orders", "recv", { schema: async, bufferSize: 4, count: 39 });
    const writing = (async () => {
      for (let id = 0; id < 40; id++) await writer.write({ id, item: "x" });
    })();
    const got = await within(collect(received));
    assert.deepEqual(got.map((o) => o.id), Array.from({ length: 40 }, (_, i) => i).filter((i) => i !== 13));
    const [err] = await nextErrors(ends.imp.errors, 1);
    assert.ok(err instanceof ValidationError);
    assert.match(err.message, /13 is unlucky/);
    await writing;
    await within(ends.exp.drain());
    await ends.close();
  });
}

Deno.test("a schema on an exported send channel checks what importers send", async () => {
  const ends = await endpoints(overPipe);
  const inbox = ends.exp.export("orders", "send", { schema: zodOrder }).getReader();
  const writer = ends.imp.import<unknown>("orders", "send").getWriter();
  for (const order of orders) await writer.write(order);
  assert.deepEqual((await within(inbox.read())).value, { id: 1, item: "tea" });
  assert.deepEqual((await within(inbox.read())).value, { id: 4, item: "jam" });
  const errors = await nextErrors(ends.exp.errors, 2);
  assert.ok(errors.every((e) => e instanceof ValidationError));
  await within(ends.imp.drain());
  await ends.close();
});

Deno.test("a schema's output is what the reader gets, so transforms apply", async () => {
  const ends = await endpoints(overPipe);
  const writer = ends.exp.export<unknown>("t", "recv").getWriter();
  const schema = z.object({ at: z.string().transform((s) => new Date(s)) });
  const received = ends.imp.import("t", "recv", { schema, count: 1 });
  await writer.write({ at: "2024-01-01T00:00:00Z" });
  const [value] = await within(collect(received));
  assert.ok(value.at instanceof Date);
  await ends.close();
});
