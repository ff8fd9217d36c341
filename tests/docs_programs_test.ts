/**
 * A user copies an example into a file of its own and runs it. `deno test
 * --doc` runs each block inside a test, which ends whatever the block left
 * open; a program ends only once nothing keeps its event loop alive. So
 * every example of the README, the docs and the modules' JSDoc is run here
 * as a program, and must end by itself.
 */

import assert from "node:assert/strict";

const root = new URL("../", import.meta.url);

/** The runnable TypeScript blocks of a markdown text or of a module's JSDoc (not `ts ignore`, not tests). */
function programs(text: string): { line: number; code: string }[] {
  return [...text.matchAll(/^ *(?:\* ?)?```ts\n([\s\S]*?)^ *(?:\* ?)?```/gm)]
    .filter((m) => !m[1].includes("Deno.test("))
    .map((m) => ({
      line: text.slice(0, m.index).split("\n").length + 1,
      code: m[1].replace(/^ *\* ?/gm, ""),
    }));
}

/** The README, docs/ and every module of the package (its JSDoc examples). */
async function sources(dir = ""): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(new URL(dir || ".", root))) {
    const path = `${dir}${entry.name}`;
    if (
      entry.isDirectory && !["tests", "bench", "examples", ".git", ".ci", "node_modules"].includes(entry.name)
    ) {
      files.push(...await sources(`${path}/`));
    } else if (entry.isFile && (path === "README.md" || path.endsWith(".ts") || path.startsWith("docs/"))) {
      if (path.endsWith(".md") || path.endsWith(".ts")) files.push(path);
    }
  }
  return files;
}

async function examples(): Promise<{ where: string; code: string }[]> {
  const files = await sources();
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

Deno.test("every example in the README, the docs and the JSDoc, run as a program of its own, ends by itself", async () => {
  const all = await examples();
  assert.ok(all.length >= 200, `found ${all.length} examples`);
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
