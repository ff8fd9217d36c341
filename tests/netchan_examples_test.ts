import assert from "node:assert/strict";

const root = new URL("../", import.meta.url);

Deno.test("the two-process example of docs/netchan.md runs: one process exports, another imports", async () => {
  const doc = await Deno.readTextFile(new URL("docs/netchan.md", root));
  for (const file of ["examples/netchan_exporter.ts", "examples/netchan_importer.ts"]) {
    const code = await Deno.readTextFile(new URL(file, root));
    assert.ok(doc.includes(code.trim()), `docs/netchan.md shows ${file} as it is`);
  }
  const dir = await Deno.makeTempDir();
  const path = `${dir}/prices.sock`;
  const run = (file: string) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL(file, root).pathname, path],
      cwd: root.pathname,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  const exporter = run("examples/netchan_exporter.ts");
  try {
    const lines = exporter.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = (await lines.read()).value ?? "";
    assert.match(out, /exporting "prices"/);
    const importer = await run("examples/netchan_importer.ts").output();
    const text = new TextDecoder().decode(importer.stdout);
    assert.equal(importer.code, 0, new TextDecoder().decode(importer.stderr));
    assert.match(text, /^tea: 250 cents at .*\njam: 499 cents at .*\nbread: 320 cents at /);
    for (let r; !(r = await lines.read()).done;) out += r.value;
    assert.match(out, /all prices delivered/);
    assert.equal((await exporter.status).code, 0);
  } finally {
    try {
      exporter.kill();
    } catch {
      // Exited.
    }
    await exporter.status;
    await Deno.remove(dir, { recursive: true });
  }
});
