import assert from "node:assert/strict";
import { parts } from "../examples/tour/parts.ts";

Deno.test("the tour runs to the end and every part tells what happened", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../examples/tour.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(stdout);
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  for (const [i, part] of parts.entries()) {
    assert.match(out, new RegExp(`^${i + 1}\\. `, "m"), `part ${i + 1} (${part.title}) did not start`);
    for (const expected of part.expect) assert.match(out, expected, `part ${i + 1}: ${part.title}`);
  }
  assert.match(out, /^done$/m);
});
