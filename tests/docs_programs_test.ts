/**
 * A user copies an example into a file of its own and runs it. `deno test
 * --doc` runs each block inside a test, which ends whatever the block left
 * open; a program ends only once nothing keeps its event loop alive. So
 * every example of the README and the docs is run here as a program, and
 * must end by itself.
 */

import assert from "node:assert/strict";

const root = new URL("../", import.meta.url);

/** The runnable TypeScript blocks of a markdown text (not `ts ignore`, not tests). */
function programs(text: string): { line: number; code: string }[] {
  return [...text.matchAll(/^```ts\n([\s\S]*?)^```/gm)]
    .filter((m) => !m[1].includes("Deno.test("))
    .map((m) => ({ line: text.slice(0, m.index).split("\n").length + 1, code: m[1] }));
}

async function examples(): Promise<{ where: string; code: string }[]> {
  const files = ["README.md"];
  for await (const entry of Deno.readDir(new URL("docs/", root))) {
    if (entry.name.endsWith(".md")) files.push(`docs/${entry.name}`);
  }
  const found: { where: string; code: string }[] = [];
  for (const file of files.sort()) {
    for (const { line, code } of programs(await Deno.readTextFile(new URL(file, root)))) {
      found.push({ where: `${file}:${line}`, code });
    }
  }
  return found;
}

/** Runs `main` as a program; its exit code and output, or `null` if it was still running after `ms`. */
async function run(main: string, ms: number): Promise<{ code: number; output: string } | null> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", `--config=${new URL("deno.json", root).pathname}`, main],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), ms);
  const { code, signal, stdout, stderr } = await child.output();
  clearTimeout(timer);
  const decoder = new TextDecoder();
  if (signal === "SIGKILL") return null;
  return { code, output: decoder.decode(stdout) + decoder.decode(stderr) };
}

Deno.test("every example in the README and the docs, run as a program of its own, ends by itself", async () => {
  const all = await examples();
  assert.ok(all.length >= 40, `found ${all.length} examples`);
  const dir = await Deno.makeTempDir();
  const failures: string[] = [];
  try {
    // Two at a time: each is a whole Deno process.
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < all.length; i = next++) {
        const { where, code } = all[i];
        const main = `${dir}/example_${i}.ts`;
        await Deno.writeTextFile(main, code);
        const result = await run(main, 30_000);
        if (result === null) failures.push(`${where}: still running after 30 s (something keeps it alive)`);
        else if (result.code !== 0) failures.push(`${where}: exit code ${result.code}\n${result.output}`);
      }
    };
    await Promise.all([worker(), worker()]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assert.deepEqual(failures, []);
});
