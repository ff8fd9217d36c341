import assert from "node:assert/strict";

Deno.test("the ipc chat example runs three processes to the end, and everyone hears every line", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../examples/ipc_chat.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(stdout);
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  for (const listener of ["alice", "bob"]) {
    for (const speaker of ["alice", "bob"]) {
      for (const line of ["hello, room", "bye for now"]) {
        assert.match(out, new RegExp(`^${listener} hears: ${speaker}: ${line}$`, "m"));
      }
    }
  }
  assert.match(out, /^room: everyone left$/m);
});
