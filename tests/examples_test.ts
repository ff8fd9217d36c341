/**
 * Every echo server a user may copy from the README, the docs or the module
 * docs survives a client that writes and leaves without reading.
 */

import assert from "node:assert/strict";

const root = new URL("../", import.meta.url);

/** The TypeScript code blocks of a markdown text, or of the JSDoc examples of a module. */
function codeBlocks(text: string, jsdoc: boolean): string[] {
  const source = jsdoc ? text.replace(/^\s*\* ?/gm, "") : text;
  return [...source.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
}

/** Echo servers: blocks that pipe a conn's readable into its writable. */
async function echoServers(): Promise<{ where: string; code: string }[]> {
  const found: { where: string; code: string }[] = [];
  const files = ["README.md", "mod.ts"];
  for await (const entry of Deno.readDir(new URL("docs/", root))) {
    if (entry.name.endsWith(".md")) files.push(`docs/${entry.name}`);
  }
  for (const file of files) {
    const text = await Deno.readTextFile(new URL(file, root));
    for (const code of codeBlocks(text, file.endsWith(".ts"))) {
      if (/readable\.pipeTo\(\w+\.writable\)/.test(code) && code.includes('transport: "memory"')) {
        found.push({ where: file, code });
      }
    }
  }
  return found;
}

/** Appended to an example: a client that writes and leaves, then one that checks the server still echoes. */
const RUDE_CLIENT = `
{
  const { connect: connectAgain } = await import("@tether/tether");
  const rude = await connectAgain({ transport: "memory", name: "echo" });
  await rude.write(new TextEncoder().encode("never read"));
  rude.close();
  await new Promise((r) => setTimeout(r, 50));
  const polite = await connectAgain({ transport: "memory", name: "echo" });
  await polite.write(new TextEncoder().encode("still there?"));
  const answer = new Uint8Array(12);
  await polite.read(answer, { signal: AbortSignal.timeout(2000) });
  console.log("RUDE-CLIENT-SURVIVED", new TextDecoder().decode(answer));
  polite.close();
}
`;

Deno.test("every copyable echo server survives a client that writes and closes without reading", async () => {
  const servers = await echoServers();
  assert.ok(servers.length >= 2, `found ${servers.length} echo servers to try`);
  const dir = await Deno.makeTempDir();
  try {
    const importMap = `${dir}/import_map.json`;
    await Deno.writeTextFile(
      importMap,
      JSON.stringify({ imports: { "@tether/tether": `${root.href}mod.ts` } }),
    );
    for (const [i, { where, code }] of servers.entries()) {
      // The example's own `await using` scope would close the listener first: serve within it.
      const main = `${dir}/example_${i}.ts`;
      await Deno.writeTextFile(main, code + RUDE_CLIENT);
      const { code: exit, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
        args: ["run", `--import-map=${importMap}`, main],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const out = new TextDecoder().decode(stdout);
      assert.equal(exit, 0, `${where}: ${new TextDecoder().decode(stderr)}`);
      assert.match(out, /RUDE-CLIENT-SURVIVED still there\?/, `${where}: ${out}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
