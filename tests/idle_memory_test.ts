import assert from "node:assert/strict";

Deno.test("an idle pipe that has been used holds at most 4 KiB more than a fresh one", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--v8-flags=--expose-gc",
      new URL("./fixtures/idle_pipes.ts", import.meta.url).pathname,
      "2000",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const { perPair } = JSON.parse(new TextDecoder().decode(stdout));
  // Before the copy buffers went back to a shared pool, this was 32 KiB: two 16 KiB tails.
  assert.ok(perPair <= 4096, `an idle used pair holds ${perPair.toFixed(0)} bytes more than a fresh one`);
});
