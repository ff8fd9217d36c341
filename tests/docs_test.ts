import assert from "node:assert/strict";

interface DocNode {
  name: string;
  declarations?: { kind?: string; jsDoc?: { doc?: string; tags?: { kind: string }[] } }[];
}

Deno.test("every public symbol has JSDoc with an @example", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  const entries = Object.values(config.exports as Record<string, string>).map((p) =>
    new URL(`../${p}`, import.meta.url).pathname
  );
  const { stdout, code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", ...entries],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const modules = JSON.parse(new TextDecoder().decode(stdout)).nodes as Record<
    string,
    { symbols: DocNode[] }
  >;
  const missing: string[] = [];
  let seen = 0;
  for (const [module, { symbols }] of Object.entries(modules)) {
    for (const symbol of symbols) {
      seen++;
      // A re-export of a symbol another entry point documents is a reference to it.
      const documented = (symbol.declarations ?? []).some((d) =>
        d.kind === "reference" || (d.jsDoc?.doc && d.jsDoc.tags?.some((t) => t.kind === "example"))
      );
      if (!documented) missing.push(`${module.split("/").slice(-2).join("/")}: ${symbol.name}`);
    }
  }
  assert.ok(seen > 20, `only ${seen} public symbols found`);
  assert.deepEqual(missing, [], `public symbols without JSDoc and an @example:\n${missing.join("\n")}`);
});
