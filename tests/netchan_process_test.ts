import assert from "node:assert/strict";
import { ConnClosedError } from "../mod.ts";
import { ChannelRefusedError, Importer } from "../netchan/mod.ts";
import { z } from "zod";
import { collect, within } from "./netchan_helpers.ts";

const PEER = new URL("./fixtures/netchan_peer.ts", import.meta.url).pathname;

/** Starts the exporter in a second Deno process; returns it once it listens. */
async function spawnExporter(path: string, total: number) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", `--allow-net=unix:${path}`, PEER, path, String(total)],
    stdout: "piped",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("ready\n")) {
    out += (await within(lines.read(), 20_000, "the peer starting")).value ?? "";
  }
  return {
    child,
    /** Resolves with what the child printed once it prints `line`. */
    async until(line: string): Promise<string> {
      for (let r; !out.includes(`${line}\n`) && !(r = await lines.read()).done;) out += r.value;
      return out;
    },
    async kill() {
      try {
        child.kill("SIGKILL");
      } catch {
        // Exited already.
      }
      await child.status;
    },
  };
}

Deno.test("netchan between two Deno processes over a Unix socket: recv, send, count, refusal, drain", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/netchan.sock`;
  const peer = await spawnExporter(path, 1000);
  try {
    await using imp = await Importer.connect({
      transport: "unix",
      path,
      signal: AbortSignal.timeout(10_000),
    });
    // count: the first 10 go here; the other 990 stay with the exporter for the next import.
    const first = await within(collect(imp.import<number>("numbers", "recv", { count: 10 })));
    assert.deepEqual(first, Array.from({ length: 10 }, (_, i) => i));
    const schema = z.number().int().nonnegative();
    const rest = await within(collect(imp.import("numbers", "recv", { schema, bufferSize: 7 })));
    assert.deepEqual(rest, Array.from({ length: 990 }, (_, i) => i + 10));
    // send, and the exporter's answer on another channel
    const shouted = imp.import<string>("shouted", "recv").getReader();
    const upper = imp.import<string>("upper", "send").getWriter();
    await upper.write("hello from pid " + Deno.pid);
    assert.equal((await within(shouted.read())).value, `HELLO FROM PID ${Deno.pid}`);
    await within(imp.drain());
    const err = await within(imp.import("nope", "recv").getReader().read()).catch((e) => e);
    assert.ok(err instanceof ChannelRefusedError);
    assert.match(err.message, /unix:.*netchan\.sock.*"nope"/);
    imp.close();
    assert.match(
      await within(peer.until("drained")),
      /drained/,
      "the exporter's drain saw every value acknowledged",
    );
  } finally {
    await peer.kill();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a killed exporter process errors readers and writers with ConnClosedError at once", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/netchan.sock`;
  const peer = await spawnExporter(path, 0);
  try {
    await using imp = await Importer.connect({
      transport: "unix",
      path,
      signal: AbortSignal.timeout(10_000),
    });
    const stalled = imp.import<number>("stall", "recv").getReader();
    const upper = imp.import<string>("upper", "send").getWriter();
    await upper.write("x");
    const reading = stalled.read().catch((e) => e);
    await peer.kill();
    const err = await within(reading, 5000, "the read after SIGKILL");
    assert.ok(err instanceof ConnClosedError, String(err));
    const writeErr = await within(
      (async () => {
        for (;;) await upper.write("y");
      })().catch((e) => e),
      5000,
      "writes after SIGKILL",
    );
    assert.ok(writeErr instanceof ConnClosedError, String(writeErr));
  } finally {
    await peer.kill();
    await Deno.remove(dir, { recursive: true });
  }
});
