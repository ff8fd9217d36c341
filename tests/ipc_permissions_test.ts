/**
 * Without the grant to read XDG_RUNTIME_DIR and TMPDIR, ipc does not guess
 * a directory: a server in `/tmp` and a client in `$XDG_RUNTIME_DIR` would
 * never meet, and `/tmp` is shared with other users. A child process run
 * without `--allow-env` shows what a user would see.
 */

import assert from "node:assert/strict";

const ipc = new URL("../ipc/mod.ts", import.meta.url).href;

async function runWithout(code: string): Promise<string> {
  const dir = await Deno.makeTempDir();
  try {
    const main = `${dir}/main.ts`;
    await Deno.writeTextFile(main, code);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-write", "--allow-net", main],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", XDG_RUNTIME_DIR: dir },
    }).output();
    const decoder = new TextDecoder();
    assert.equal(out.code, 0, decoder.decode(out.stderr));
    return decoder.decode(out.stdout).trim();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("serve() without --allow-env for the socket directory is a ConnError naming the flag", async () => {
  const out = await runWithout(`
    import { serve } from ${JSON.stringify(ipc)};
    import { ConnError } from ${JSON.stringify(new URL("../mod.ts", import.meta.url).href)};
    try {
      await serve({ name: "jobs" });
      console.log("served");
    } catch (err) {
      console.log(err instanceof ConnError, err.code, err.message);
    }
  `);
  assert.match(out, /^true ENOTCAPABLE .*--allow-env=XDG_RUNTIME_DIR,TMPDIR/);
});

Deno.test("connectClient() without --allow-env for the socket directory throws the same, and does not dial /tmp", async () => {
  const out = await runWithout(`
    import { connectClient } from ${JSON.stringify(ipc)};
    try {
      const client = connectClient({ name: "jobs" });
      console.log("connecting to", client.name);
      await client.close();
    } catch (err) {
      console.log(err.code, err.message);
    }
  `);
  assert.match(out, /^ENOTCAPABLE .*--allow-env=XDG_RUNTIME_DIR,TMPDIR/);
});

Deno.test("an ipc server on TCP needs no --allow-env: its address does not depend on it", async () => {
  const out = await runWithout(`
    import { serve } from ${JSON.stringify(ipc)};
    await using server = await serve({ transport: "tcp", port: 0, encryption: false });
    console.log(server.status);
  `);
  assert.equal(out, "listening");
});
