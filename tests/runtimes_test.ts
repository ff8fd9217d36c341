/**
 * The web-only layers on other runtimes: `tests/runtimes/` bundled with
 * `deno bundle` and run, for real, under the machine's Node and in headless
 * Chromium (a page served from a loopback port, reporting back over HTTP);
 * and in Deno, as the reference. See `tests/runtimes/suite.ts`.
 */

import assert from "node:assert/strict";
import { layers } from "./runtimes/layers.ts";
import { type Row, runSuite } from "./runtimes/suite.ts";
import { webHost } from "./runtimes/web_host.ts";

interface Report {
  runtime: string;
  rows: Row[];
  error?: string;
}

const ENTRIES = ["node_entry.ts", "node_worker.ts", "browser_entry.ts", "browser_worker.ts"];

/** Bundles the suite's entry points into a fresh temp dir. */
async function bundle(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "tether-runtimes-" });
  const entries = ENTRIES.map((e) => new URL(`./runtimes/${e}`, import.meta.url).pathname);
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--platform", "browser", "--outdir", dir, ...entries],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  // Node reads .js files as ES modules only under a package.json that says so.
  await Deno.writeTextFile(`${dir}/package.json`, JSON.stringify({ type: "module" }));
  return dir;
}

/**
 * Every layer ran, every row passed, and the rows prove what they should:
 * the kit's checks over each subject, and the notes the runtime gave.
 */
function assertReport(report: Report): Map<string, string> {
  assert.equal(report.error, undefined, report.error);
  const failed = report.rows.filter((r) => r.outcome !== "passed");
  assert.deepEqual(failed, [], `${report.runtime}: ${failed.length} checks did not pass`);
  for (const layer of layers) {
    assert.ok(
      report.rows.some((r) => r.layer === layer.name),
      `${report.runtime}: layer ${layer.name} ran no check`,
    );
  }
  // The kit ran whole, over every subject: a check that silently did not run is a failure too.
  for (const subject of ["pipe", "QueueConn by hand", "portConn", "portConn across a worker"]) {
    const ran = report.rows.filter((r) => r.layer === "conn" && r.id.startsWith(`${subject}/`)).length;
    assert.ok(ran >= 20, `${report.runtime}: only ${ran} conn checks ran over ${subject}`);
  }
  const muxed =
    report.rows.filter((r) => r.layer === "mux" && r.id.startsWith("streams over pipe()/")).length;
  assert.ok(muxed >= 20, `${report.runtime}: only ${muxed} conn checks ran over mux streams`);
  for (const subject of ["memory listener", "worker listener"]) {
    const ran = report.rows.filter((r) => r.layer === "conn" && r.id.startsWith(`${subject}/`)).length;
    assert.ok(ran >= 10, `${report.runtime}: only ${ran} listener checks ran over ${subject}`);
  }
  return new Map(report.rows.filter((r) => r.note).map((r) => [`${r.layer}/${r.id}`, r.note!]));
}

const SOCKETS = "sockets/unix, tcp and pipe: Deno's sockets, or ENOTSUP";
const CHACHA = "secure/ChaChaPoly handshakes and carries small and large records";

/** `p`, or a rejection naming `what` once `ms` have passed. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) =>
        timer = setTimeout(() => reject(new Error(`${what} after ${ms} ms`)), ms)
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("the web-only layers pass their checks under Node, which then exits on its own", async () => {
  const dir = await bundle();
  try {
    const child = new Deno.Command("node", {
      args: [`${dir}/node_entry.js`],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output = child.output();
    let result: Deno.CommandOutput;
    try {
      // Node must end by itself: a port or lock left open would keep it running.
      result = await within(output, 180_000, "Node was still running");
    } catch (err) {
      child.kill("SIGKILL");
      await output;
      throw err;
    }
    const stdout = new TextDecoder().decode(result.stdout);
    const line = stdout.split("\n").find((l) => l.startsWith("REPORT "));
    assert.ok(line, `no report from Node:\n${stdout}\n${new TextDecoder().decode(result.stderr)}`);
    assert.equal(result.code, 0, new TextDecoder().decode(result.stderr));
    const report: Report = JSON.parse(line.slice("REPORT ".length));
    assert.match(report.runtime, /^node v\d+/);
    const notes = assertReport(report);
    // Node 20's WebCrypto has no ChaCha20-Poly1305; tether's own carries it there.
    assert.equal(notes.get(CHACHA), "ChaChaPoly: supported");
    assert.equal(notes.get(SOCKETS), "sockets: ENOTSUP");
    // Node's ports say when their other end is gone; that is how it saw the worker end.
    assert.match(
      notes.get("worker/terminating the worker mid-transfer ends the conn with ConnClosedError")!,
      /closed/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the web-only layers pass their checks in headless Chromium, in a page served from a loopback port", async () => {
  const dir = await bundle();
  const profile = await Deno.makeTempDir({ prefix: "tether-chromium-" });
  const reported = Promise.withResolvers<Report>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const path = new URL(request.url).pathname;
    if (request.method === "POST" && path === "/report") {
      reported.resolve(await request.json());
      return new Response("ok");
    }
    if (path === "/") {
      return new Response(
        '<!doctype html><meta charset="utf-8"><title>tether</title><script type="module" src="/browser_entry.js"></script>',
        { headers: { "content-type": "text/html" } },
      );
    }
    const file = path.match(/^\/(browser_entry|browser_worker)\.js$/)?.[1];
    if (file === undefined) return new Response("not found", { status: 404 });
    return new Response(await Deno.readFile(`${dir}/${file}.js`), {
      headers: { "content-type": "text/javascript" },
    });
  });
  const browser = new Deno.Command("chromium", {
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      `--user-data-dir=${profile}`,
      `http://127.0.0.1:${server.addr.port}/`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const browserOutput = browser.output();
  try {
    const report = await within(reported.promise, 240_000, "no report from Chromium");
    assert.match(report.runtime, /^chromium \d+/);
    const notes = assertReport(report);
    assert.equal(notes.get(CHACHA), "ChaChaPoly: supported");
    assert.equal(notes.get(SOCKETS), "sockets: ENOTSUP");
  } finally {
    browser.kill("SIGTERM");
    await browserOutput;
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(profile, { recursive: true });
  }
});

Deno.test("the same suite passes in Deno, the reference runtime", async () => {
  const host = webHost(`deno ${Deno.version.deno}`, new URL("./runtimes/browser_worker.ts", import.meta.url));
  const rows: Row[] = [];
  await runSuite(host, layers, (row) => rows.push(row));
  const notes = assertReport({ runtime: host.runtime, rows });
  // Deno has ChaCha20-Poly1305 (node:crypto's, and WebCrypto's): the handshake ran with it.
  assert.equal(notes.get(CHACHA), "ChaChaPoly: supported");
  assert.equal(notes.get(SOCKETS), "sockets: available");
});

Deno.test("the runtimes declared for JSR are those tested here, and every entry point says where it runs", async () => {
  const root = new URL("../", import.meta.url);
  const settings = JSON.parse(await Deno.readTextFile(new URL(".ci/jsr-package.json", root)));
  assert.deepEqual(settings.runtimeCompat, {
    deno: true,
    node: true,
    browser: true,
    bun: null,
    workerd: null,
  });
  const doc = await Deno.readTextFile(new URL("docs/runtimes.md", root));
  assert.match(doc, /Deno, Node\.js and browsers "supported", Bun and\s+Cloudflare Workers "unknown"/);
  // Every entry point says where it runs; those that claim every runtime are those the suite loads.
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
  const suite = await Deno.readTextFile(new URL("runtimes/layers.ts", import.meta.url));
  for (const entry of Object.keys(config.exports)) {
    const name = `@tether/tether${entry === "." ? "" : entry.slice(1)}`;
    const row = doc.split("\n").find((line) => line.startsWith(`| \`${name}\` `));
    assert.ok(row, `docs/runtimes.md does not say where ${name} runs`);
    if (row.includes("web-only")) {
      const module = entry === "." ? "mod.ts" : config.exports[entry].replace(/^\.\//, "");
      const layers = await Promise.all(
        [...suite.matchAll(/from "\.\/layers\/(\w+)\.ts"/g)].map(([, f]) =>
          Deno.readTextFile(new URL(`runtimes/layers/${f}.ts`, import.meta.url))
        ),
      );
      assert.ok(
        layers.some((code) => code.includes(`"../../../${module}"`)),
        `${name} is declared web-only, but no layer of the runtime suite imports ${module}`,
      );
    }
  }
});
