/** Helpers shared by the mux tests and benches. */

import assert from "node:assert/strict";
import type { Conn } from "../mod.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Bytes of text. */
export const text = (s: string): Uint8Array => encoder.encode(s);

/** Reads a conn to EOF. */
export async function readAll(conn: Conn, limit = 1 << 30): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const buf = new Uint8Array(256 * 1024);
  for (let n; (n = await conn.read(buf)) !== null;) {
    chunks.push(buf.slice(0, n));
    total += n;
    assert.ok(total <= limit, `more than ${limit} bytes`);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) out.set(chunk, (at += chunk.length) - chunk.length);
  return out;
}

/** Reads a conn to EOF as text. */
export async function readText(conn: Conn): Promise<string> {
  return decoder.decode(await readAll(conn));
}

/** Reads exactly `n` bytes. */
export async function readExactly(conn: Conn, n: number): Promise<Uint8Array> {
  const buf = new Uint8Array(n);
  for (let got = 0; got < n;) {
    const k = await conn.read(buf.subarray(got));
    if (k === null) assert.fail(`EOF after ${got} of ${n} bytes`);
    got += k;
  }
  return buf;
}

/** `n` bytes of the pattern the Go peer sends: (i * 7) % 251. */
export function goPattern(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 7) % 251;
  return out;
}

/** Random bytes of any length (getRandomValues takes 64 KiB at a time). */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let at = 0; at < n; at += 65536) crypto.getRandomValues(out.subarray(at, Math.min(n, at + 65536)));
  return out;
}

/** The hex SHA-256 of `bytes`. */
export async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** `p`, or a rejection naming `what` if it has not settled within `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Echoes a conn until EOF, then half-closes; a conn that breaks is closed. */
export function echo(conn: Conn): Promise<void> {
  return conn.readable.pipeTo(conn.writable).catch(() => conn.close());
}

let built: Promise<string> | undefined;

/**
 * Builds the Go yamux peer (tests/fixtures/yamux_peer) into a temp dir, once
 * per process, in GOPATH mode against Debian's hashicorp/yamux
 * (golang-github-hashicorp-yamux-dev): no module proxy is needed.
 */
export function goPeer(): Promise<string> {
  return built ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "yamux-peer-" });
    const source = new URL("./fixtures/yamux_peer/main.go", import.meta.url).pathname;
    const { success, stderr } = await new Deno.Command("go", {
      args: ["build", "-o", `${dir}/yamux_peer`, source],
      cwd: dir,
      env: { GO111MODULE: "off", GOPATH: "/usr/share/gocode", GOCACHE: `${dir}/cache`, GOFLAGS: "" },
      stderr: "piped",
    }).output().catch((err) => {
      throw new Error(
        `cannot run go (${err.message}): apt-get install -y golang-go golang-github-hashicorp-yamux-dev`,
      );
    });
    if (!success) {
      throw new Error(
        `building the Go yamux peer failed (is golang-github-hashicorp-yamux-dev installed?):\n${
          decoder.decode(stderr)
        }`,
      );
    }
    return `${dir}/yamux_peer`;
  })();
}
