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

/** One yamux frame as a raw peer sees it. */
export interface RawFrame {
  type: number;
  flags: number;
  id: number;
  length: number;
  payload: Uint8Array | null;
}

/** Frame types and flags, written out here so the tests do not trust the code they test. */
export const DATA = 0, WINDOW_UPDATE = 1, PING = 2, GO_AWAY = 3;
export const SYN = 1, ACK = 2, FIN = 4, RST = 8;

/** Encodes one frame (header, then the payload if given). */
export function frame(
  type: number,
  flags: number,
  id: number,
  length: number,
  payload?: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(12 + (payload?.length ?? 0));
  const view = new DataView(out.buffer);
  view.setUint8(0, 0);
  view.setUint8(1, type);
  view.setUint16(2, flags);
  view.setUint32(4, id);
  view.setUint32(8, length);
  if (payload) out.set(payload, 12);
  return out;
}

/**
 * A peer that speaks yamux by hand on the other end of a conn: it writes
 * exactly the frames a test gives it and reads back what tether sends,
 * answering pings unless told not to.
 */
export class RawPeer {
  readonly conn: Conn;
  answerPings = true;
  #buffer = new Uint8Array(0);

  constructor(conn: Conn) {
    this.conn = conn;
  }

  /** Writes one frame. */
  send(type: number, flags: number, id: number, length: number, payload?: Uint8Array): Promise<number> {
    return this.conn.write(frame(type, flags, id, length, payload));
  }

  async #fill(n: number, signal?: AbortSignal): Promise<boolean> {
    while (this.#buffer.length < n) {
      const buf = new Uint8Array(256 * 1024);
      const k = await this.conn.read(buf, { signal });
      if (k === null) return false;
      const joined = new Uint8Array(this.#buffer.length + k);
      joined.set(this.#buffer);
      joined.set(buf.subarray(0, k), this.#buffer.length);
      this.#buffer = joined;
    }
    return true;
  }

  /** The next frame tether sends (pings answered and skipped), or null at EOF. */
  async next(signal: AbortSignal = AbortSignal.timeout(10_000)): Promise<RawFrame | null> {
    for (;;) {
      if (!await this.#fill(12, signal)) return null;
      const view = new DataView(this.#buffer.buffer, this.#buffer.byteOffset);
      const f: RawFrame = {
        type: view.getUint8(1),
        flags: view.getUint16(2),
        id: view.getUint32(4),
        length: view.getUint32(8),
        payload: null,
      };
      const size = f.type === DATA ? f.length : 0;
      if (!await this.#fill(12 + size, signal)) throw new Error("EOF inside a frame");
      if (f.type === DATA) f.payload = this.#buffer.slice(12, 12 + size);
      this.#buffer = this.#buffer.slice(12 + size);
      if (f.type === PING && this.answerPings && f.flags & SYN) {
        await this.send(PING, ACK, 0, f.length);
        continue;
      }
      return f;
    }
  }

  /** Reads frames until one matches, returning it; fails at EOF. */
  async until(match: (f: RawFrame) => boolean, signal?: AbortSignal): Promise<RawFrame> {
    for (;;) {
      const f = await this.next(signal);
      if (f === null) throw new Error("EOF before the frame looked for");
      if (match(f)) return f;
    }
  }
}
