import assert from "node:assert/strict";

Deno.test("two test files under --parallel use the same virtual host and port at the same time without colliding", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      // No --allow-net: neither file could open a real port even if it tried.
      args: [
        "test",
        "--parallel",
        "--no-check", // type-checked with the rest of tests/
        "--no-prompt",
        `--allow-read=${dir}`,
        `--allow-write=${dir}`,
        "--allow-env=VNET_RENDEZVOUS",
        fixture("vnet_parallel_a.ts"),
        fixture("vnet_parallel_b.ts"),
      ],
      env: { VNET_RENDEZVOUS: dir, NO_COLOR: "1", DENO_JOBS: "2" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    assert.equal(code, 0, out);
    assert.match(out, /file a holds virtual localhost:8080 while file b holds it too \.\.\. ok/);
    assert.match(out, /file b holds virtual localhost:8080 while file a holds it too \.\.\. ok/);
    assert.match(out, /ok \| 2 passed \| 0 failed/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
