/**
 * A peer's header may announce a message as large as `maxMessageSize`
 * allows (up to 1 GiB); a host that cannot set aside that much must answer
 * with a typed error, not crash. The test runs the receiver in a child
 * process whose address space its parent caps with `prlimit` (Linux), so the
 * engine's own allocation of the body buffer really fails.
 */

import assert from "node:assert/strict";

const CHILD = new URL("./frame_alloc_child.ts", import.meta.url).pathname;
/** Room the child keeps for everything but the announced body. */
const HEADROOM = 384 * 1024 * 1024;

Deno.test({
  name: "an announced body the host cannot allocate is a MessageTooLargeError that closes the conn",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-config", "--allow-read", CHILD],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!out.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) break;
      out += value;
    }
    assert.equal(out, "ready\n", "the child started");
    // Cap the child at what it uses now plus some room: far less than 1 GiB.
    // (A shell reads /proc: Deno reads it only with every permission.)
    const capped = await new Deno.Command("sh", {
      args: [
        "-c",
        "kb=$(awk '/^VmSize:/ { print $2 }' \"/proc/$1/status\") && " +
        'limit=$((kb * 1024 + $2)) && prlimit --pid "$1" --as="$limit:$limit"',
        "sh",
        String(child.pid),
        String(HEADROOM),
      ],
    }).output();
    assert.equal(capped.code, 0, new TextDecoder().decode(capped.stderr));
    const stdin = child.stdin.getWriter();
    await stdin.write(new TextEncoder().encode("go\n"));
    await stdin.close();
    for (let chunk; !(chunk = await lines.read()).done;) out += chunk.value;
    const { code } = await child.status;
    assert.equal(code, 0, await stderr);
    const result = JSON.parse(out.slice("ready\n".length));
    assert.deepEqual(result, {
      name: "MessageTooLargeError",
      message: "receive memory:pipe: message too large: 1073741824 bytes is within the limit of 1073741824 " +
        "but could not be held (the host could not allocate a buffer for it)",
      causeName: "RangeError",
      closed: true,
    });
  },
});
