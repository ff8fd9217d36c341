import assert from "node:assert/strict";

Deno.test("the tour runs to the end and tells what happened", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../examples/tour.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(stdout);
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  assert.match(out, /got back "hello, tether"/);
  assert.match(out, /answered: 12:00/);
  assert.match(out, /TimeoutError/);
  assert.match(out, /got type 1 "SHOUT THIS"/);
  assert.match(out, /wrong key gets HandshakeError; the server sees HandshakeError/);
  assert.match(out, /socket file mode 600; the peer answered "HELLO FROM PID \d+"/);
  assert.match(out, /the peer exited with code 0/);
  assert.match(out, /^done$/m);
});
