/**
 * The README's quick start promises that swapping its memory address for a
 * Unix or TCP one changes nothing else. Here the block is copied, the
 * address swapped, and the result type-checked and run as a program.
 */

import assert from "node:assert/strict";

const root = new URL("../", import.meta.url);

async function quickStart(): Promise<string> {
  const readme = await Deno.readTextFile(new URL("README.md", root));
  const section = readme.slice(readme.indexOf("## Quick start"));
  const block = section.match(/```ts\n([\s\S]*?)```/);
  assert.ok(block, "the README's quick start has no ts block");
  return block[1];
}

function freePort(): number {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = probe.addr as Deno.NetAddr;
  probe.close();
  return port;
}

for (const transport of ["unix", "tcp"] as const) {
  Deno.test(`the README's quick start runs unchanged with a ${transport} address swapped in`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const address = transport === "unix"
        ? `{ transport: "unix", path: ${JSON.stringify(`${dir}/echo.sock`)} }`
        : `{ transport: "tcp", hostname: "127.0.0.1", port: ${freePort()} }`;
      const code = (await quickStart()).replaceAll(`{ transport: "memory", name: "echo" }`, address);
      assert.ok(
        code.includes(address),
        'the quick start no longer uses { transport: "memory", name: "echo" }',
      );
      const main = `${dir}/main.ts`;
      await Deno.writeTextFile(main, code);
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", `--config=${new URL("deno.json", root).pathname}`, main],
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).output();
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, text);
      assert.match(text, /^hello$/m);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
