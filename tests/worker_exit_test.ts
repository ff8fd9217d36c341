import assert from "node:assert/strict";

const SCENARIOS = [
  "echo",
  "connect-timeout",
  "refused",
  "unattached",
  "terminated",
  "listener",
  "local",
  "late-attach-node-compat",
];
const fixture = new URL("./fixtures/worker_exit.ts", import.meta.url).pathname;

for (const scenario of SCENARIOS) {
  Deno.test(`a process that used worker conns (${scenario}) exits on its own once it is done`, async () => {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-env", fixture, scenario],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const hung = new Promise<"hung">((resolve) => timer = setTimeout(() => resolve("hung"), 30_000));
    const outcome = await Promise.race([child.output(), hung]);
    clearTimeout(timer);
    if (outcome === "hung") {
      child.kill("SIGKILL");
      await child.output();
      assert.fail(
        `the ${scenario} process was still running 30 s after it started: something keeps it alive`,
      );
    }
    const out = new TextDecoder().decode(outcome.stdout);
    assert.equal(outcome.code, 0, new TextDecoder().decode(outcome.stderr));
    assert.equal(out.trim(), "done");
  });
}
