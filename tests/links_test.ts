/**
 * The README and docs/ are read on JSR, where only published files exist:
 * every relative link must point at a file that is there and published.
 */

import assert from "node:assert/strict";

const root = new URL("../", import.meta.url);
const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
const excluded: string[] = config.publish?.exclude ?? [];

/** Whether `path` (relative to the root) is left out of the published package. */
function isExcluded(path: string): boolean {
  return excluded.some((pattern) => {
    if (pattern.endsWith("/")) return path.startsWith(pattern);
    const regex = new RegExp(
      "^" +
        pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*\*/g, ".*").replace(/(?<!\.)\*/g, "[^/]*") +
        "$",
    );
    return regex.test(path);
  });
}

async function markdownFiles(): Promise<string[]> {
  const files = ["README.md"];
  for await (const entry of Deno.readDir(new URL("docs/", root))) {
    if (entry.isFile && entry.name.endsWith(".md")) files.push(`docs/${entry.name}`);
  }
  return files;
}

Deno.test("every relative link in the README and docs/ points at a published file", async () => {
  const broken: string[] = [];
  let links = 0;
  for (const file of await markdownFiles()) {
    const text = await Deno.readTextFile(new URL(file, root));
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(target) || target.startsWith("#")) continue;
      links++;
      const url = new URL(target.split("#")[0], new URL(file, root));
      const path = url.pathname.slice(root.pathname.length);
      if (!url.pathname.startsWith(root.pathname)) {
        broken.push(`${file}: ${target} points outside the package`);
        continue;
      }
      const exists = await Deno.stat(url).then(() => true, () => false);
      if (!exists) broken.push(`${file}: ${target} does not exist`);
      else if (isExcluded(path)) broken.push(`${file}: ${target} is not published (publish.exclude)`);
    }
  }
  assert.ok(links > 5, `only ${links} relative links found`);
  assert.deepEqual(broken, []);
});

/** The anchors GitHub and JSR give a markdown file's headings. */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const [, heading] of text.replace(/^```[\s\S]*?^```/gm, "").matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = heading.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return out;
}

Deno.test("every #anchor of a link in the README and docs/ names a heading of the page it points at", async () => {
  const broken: string[] = [];
  let checked = 0;
  for (const file of await markdownFiles()) {
    const text = await Deno.readTextFile(new URL(file, root));
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(target) || !target.includes("#")) continue;
      const [path, anchor] = target.split("#");
      const url = path === "" ? new URL(file, root) : new URL(path, new URL(file, root));
      if (!url.pathname.endsWith(".md")) continue;
      checked++;
      const page = await Deno.readTextFile(url).catch(() => "");
      if (!anchors(page).has(anchor)) broken.push(`${file}: ${target} names no heading there`);
    }
  }
  assert.ok(checked >= 3, `only ${checked} anchors found`);
  assert.deepEqual(broken, []);
});
