/**
 * {@linkcode toDuplex}: a tether {@linkcode Conn} as a Node `Duplex` that
 * passes for a `net.Socket`, so Node libraries that take a socket (HTTP,
 * WebSocket, database drivers, SSH) run over any tether transport.
 *
 * @example
 * ```ts
 * import { pipe } from "@tether/tether";
 * import { toDuplex } from "@tether/tether/node";
 *
 * const [a, b] = pipe();
 * const socket = toDuplex(a);
 * socket.end("hello");
 * console.log(new TextDecoder().decode(await new Response(b.readable).bytes())); // "hello"
 * socket.destroy();
 * ```
 *
 * @module
 */

import { Buffer } from "node:buffer";
import process from "node:process";
import { Duplex } from "node:stream";
import { clearTimeout, setTimeout } from "node:timers";
import type { Addr, Conn } from "../conn.ts";
import { checkOptions, describe } from "../_validate.ts";

/**
 * Options of {@linkcode toDuplex}, as `new net.Socket(options)` takes them.
 *
 * @example
 * ```ts
 * import { pipe } from "@tether/tether";
 * import { toDuplex, type ToDuplexOptions } from "@tether/tether/node";
 *
 * const options: ToDuplexOptions = { allowHalfOpen: true };
 * const [a] = pipe();
 * toDuplex(a, options).destroy();
 * ```
 */
export interface ToDuplexOptions {
  /**
   * Whether the writable side stays open after the peer half-closes;
   * default `false`, as for a `net.Socket`: when the readable side ends, the
   * socket ends its writable side too. Servers that answer after the
   * client's EOF (Node's `http.Server` among them) want `true`.
   */
  allowHalfOpen?: boolean;
}

/** The most bytes one read takes from the conn: Node's own socket read size. */
const READ_SIZE = 64 * 1024;
/** A read at least this full hands its buffer on; a smaller one is copied out, and the buffer kept. */
const HAND_ON = READ_SIZE / 2;

/**
 * A `node:stream` `Duplex` over a tether {@linkcode Conn}, with the parts of
 * `net.Socket` that Node libraries use: timeouts, `setNoDelay`,
 * `setKeepAlive`, `ref`/`unref`, `destroySoon`, the address getters,
 * `bytesRead`/`bytesWritten`, `connecting`/`pending`/`readyState`, and a
 * `'close'` event that says whether an error closed it.
 *
 * - Backpressure both ways: the socket reads from the conn only while its
 *   readable buffer has room; a write calls back once the conn took the
 *   bytes (a conn whose peer does not read makes it wait).
 * - Half-close both ways: `end()` is `conn.closeWrite()`; the conn's EOF is
 *   `'end'`.
 * - Errors keep their class: a failed read or write destroys the socket
 *   with the conn's own `ConnError`, whose `code` is Node's (`EPIPE` for a
 *   closed peer).
 * - `destroy()` closes the conn; so does the end of both directions.
 *
 * Made by {@linkcode toDuplex}.
 *
 * @example
 * ```ts
 * import { pipe } from "@tether/tether";
 * import { type ConnSocket, toDuplex } from "@tether/tether/node";
 *
 * const [a, b] = pipe();
 * const socket: ConnSocket = toDuplex(a);
 * socket.setTimeout(10_000).setNoDelay(true);
 * console.log(socket.readyState, socket.remoteAddress); // "open" undefined (memory has no IP)
 * socket.destroy();
 * b.close();
 * ```
 */
export class ConnSocket extends Duplex {
  /** The idle timeout in milliseconds set by {@linkcode ConnSocket.setTimeout}; 0 when none. */
  timeout = 0;
  #conn: Conn | null = null;
  #connecting: Promise<Conn> | null = null;
  /** `connecting` until the conn is there; `open`; `closed` once destroyed. */
  #state: "connecting" | "open" | "closed";
  #reading = false;
  #scratch: Buffer | null = null;
  #bytesRead = 0;
  #bytesWritten = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #lastActive = 0;
  /** When the pending idle timer fires. */
  #due = 0;
  /** Settings asked for while connecting, applied once the conn is there. */
  #pending: ((conn: Conn) => void)[] = [];

  /** Wraps `conn`, or the conn `conn` will resolve with (the socket is `connecting` till then). */
  constructor(conn: Conn | Promise<Conn>, options: ToDuplexOptions = {}) {
    super({ allowHalfOpen: options.allowHalfOpen ?? false, emitClose: false, decodeStrings: false });
    if (conn instanceof Promise) {
      this.#state = "connecting";
      this.#connecting = conn;
      conn.then((c) => this.#connected(c), (err) => this.destroy(err));
    } else {
      this.#state = "open";
      this.#conn = conn;
    }
  }

  #connected(conn: Conn): void {
    this.#connecting = null;
    if (this.#state === "closed") return conn.close();
    this.#state = "open";
    this.#conn = conn;
    for (const apply of this.#pending.splice(0)) apply(conn);
    this.emit("connect");
    this.emit("ready");
    if (this.#reading) void this.#pump();
  }

  /** Whether the conn is still being made. */
  get connecting(): boolean {
    return this.#state === "connecting";
  }

  /** Whether the socket is not yet connected, as `net.Socket.pending`. */
  get pending(): boolean {
    return this.#state !== "open";
  }

  /** `"opening"`, `"open"`, `"readOnly"`, `"writeOnly"` or `"closed"`, as `net.Socket.readyState`. */
  get readyState(): "opening" | "open" | "readOnly" | "writeOnly" | "closed" {
    if (this.#state === "connecting") return "opening";
    if (this.readable && this.writable) return "open";
    if (this.readable) return "readOnly";
    return this.writable ? "writeOnly" : "closed";
  }

  /** Bytes read from the conn so far. */
  get bytesRead(): number {
    return this.#bytesRead;
  }

  /** Bytes written to the socket so far, including those still on their way. */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  /** The peer's IP address, for a TCP conn; `undefined` otherwise (as for a Unix socket). */
  get remoteAddress(): string | undefined {
    return this.#conn?.remoteAddr.port === undefined ? undefined : this.#conn.remoteAddr.hostname;
  }

  /** The peer's port, for a TCP conn. */
  get remotePort(): number | undefined {
    return this.#conn?.remoteAddr.port;
  }

  /** `"IPv4"` or `"IPv6"`, for a TCP conn. */
  get remoteFamily(): string | undefined {
    return familyOf(this.#conn?.remoteAddr);
  }

  /** This end's IP address, for a TCP conn. */
  get localAddress(): string | undefined {
    return this.#conn?.localAddr.port === undefined ? undefined : this.#conn.localAddr.hostname;
  }

  /** This end's port, for a TCP conn. */
  get localPort(): number | undefined {
    return this.#conn?.localAddr.port;
  }

  /** `"IPv4"` or `"IPv6"`, for a TCP conn. */
  get localFamily(): string | undefined {
    return familyOf(this.#conn?.localAddr);
  }

  /** This end's address as `net.Socket.address()` gives it: `{ address, family, port }`, or `{}` for a conn with no IP. */
  address(): { address: string; family: string; port: number } | Record<string, never> {
    const addr = this.#conn?.localAddr;
    if (addr?.port === undefined || addr.hostname === undefined) return {};
    return { address: addr.hostname, family: familyOf(addr)!, port: addr.port };
  }

  /**
   * Emits `'timeout'` once the socket has been idle (nothing read or
   * written) for `ms` milliseconds; it does not close the socket. `0` turns
   * it off. `callback`, if given, listens once for that `'timeout'`.
   */
  setTimeout(ms: number, callback?: () => void): this {
    if (typeof ms !== "number" || !(ms >= 0) || !Number.isFinite(ms)) {
      throw new RangeError(
        `the timeout must be a finite number of milliseconds, 0 or more, got ${describe(ms)}`,
      );
    }
    this.timeout = Math.floor(ms);
    if (this.timeout === 0) {
      // A timer still pending finds the timeout off when it fires, and stops: no timer churn per request.
      if (callback) this.removeListener("timeout", callback);
      return this;
    }
    if (callback) this.once("timeout", callback);
    this.#touch();
    // A pending timer due later than the new timeout allows is re-armed.
    if (this.#timer !== null && this.#due > this.#lastActive + this.timeout) {
      this.#clearTimer();
      this.#arm(this.timeout);
    }
    return this;
  }

  /** Turns Nagle's algorithm off (`true`, the default) or on, where the conn has it (TCP). */
  setNoDelay(noDelay = true): this {
    this.#apply((conn) => (conn as { setNoDelay?(on: boolean): void }).setNoDelay?.(noDelay));
    return this;
  }

  /** Turns TCP keep-alive probes on or off, where the conn has them; the delay is left to the OS. */
  setKeepAlive(enable = false, _initialDelay?: number): this {
    this.#apply((conn) => (conn as { setKeepAlive?(on: boolean): void }).setKeepAlive?.(enable));
    return this;
  }

  /** Lets the conn keep the process alive (the default), where the conn can say (sockets). */
  ref(): this {
    this.#apply((conn) => (conn as { ref?(): void }).ref?.());
    return this;
  }

  /** Lets the process exit while this socket waits, where the conn can say (sockets). */
  unref(): this {
    this.#apply((conn) => (conn as { unref?(): void }).unref?.());
    return this;
  }

  /** Ends the writable side, then destroys the socket once what was written is gone. */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once("finish", () => this.destroy());
  }

  /** Destroys the socket. (A conn has no TCP reset to send; the peer sees a close.) */
  resetAndDestroy(): this {
    return this.destroy();
  }

  /** @internal Node's read hook: starts pumping from the conn. */
  override _read(): void {
    if (this.#reading) return;
    this.#reading = true;
    if (this.#conn !== null) void this.#pump();
  }

  async #pump(): Promise<void> {
    const conn = this.#conn!;
    while (true) {
      const scratch = this.#scratch ??= Buffer.allocUnsafe(READ_SIZE);
      let n: number | null;
      try {
        n = await conn.read(scratch);
      } catch (err) {
        this.#reading = false;
        if (!this.destroyed) this.destroy(err as Error);
        return;
      }
      await ticksDone();
      if (this.destroyed) return;
      if (n === null) {
        this.#reading = false;
        this.push(null);
        return;
      }
      this.#bytesRead += n;
      this.#touch();
      let chunk: Buffer;
      if (n >= HAND_ON) {
        chunk = scratch.subarray(0, n);
        this.#scratch = null;
      } else {
        chunk = Buffer.allocUnsafe(n);
        chunk.set(scratch.subarray(0, n));
      }
      if (!this.push(chunk)) {
        this.#reading = false;
        return;
      }
    }
  }

  /** @internal Node's write hook. */
  override _write(chunk: Buffer | string, encoding: string, callback: (err?: Error | null) => void): void {
    this.#send(toBytes(chunk, encoding), callback);
  }

  /** @internal Node's batched write hook: corked writes go to the conn as one. */
  override _writev(
    chunks: { chunk: Buffer | string; encoding: string }[],
    callback: (err?: Error | null) => void,
  ): void {
    if (chunks.length === 1) return this.#send(toBytes(chunks[0].chunk, chunks[0].encoding), callback);
    this.#send(gather(chunks), callback);
  }

  #send(bytes: Uint8Array, callback: (err?: Error | null) => void): void {
    this.#bytesWritten += bytes.byteLength;
    this.#touch();
    const written = this.#conn !== null
      ? this.#conn.write(bytes)
      : this.#connecting!.then((c) => c.write(bytes));
    written.then(() => {
      this.#touch();
      callback();
    }, callback);
  }

  /** @internal Node's end-of-writes hook: half-closes the conn. */
  override _final(callback: (err?: Error | null) => void): void {
    const conn = this.#conn ?? this.#connecting!;
    Promise.resolve(conn).then((c) => c.closeWrite()).then(() => callback(), callback);
  }

  /** @internal Node's destroy hook: closes the conn, then emits `'close'` with whether an error closed it. */
  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.#state = "closed";
    this.#clearTimer();
    this.#conn?.close();
    callback(err);
    // Node's net.Socket says whether an error closed it: 'close' comes after 'error'.
    process.nextTick(() => this.emit("close", err !== null && err !== undefined));
  }

  /** Runs `fn` on the conn now, or once it is there. */
  #apply(fn: (conn: Conn) => void): void {
    if (this.#conn !== null) fn(this.#conn);
    else if (this.#state === "connecting") this.#pending.push(fn);
  }

  /** Notes activity; (re)arms the idle timer when a timeout is set. */
  #touch(): void {
    if (this.timeout === 0) return;
    this.#lastActive = Date.now();
    if (this.#timer === null && !this.destroyed) this.#arm(this.timeout);
  }

  #arm(ms: number): void {
    this.#due = Date.now() + ms;
    const timer = this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.timeout === 0 || this.destroyed) return;
      const idle = Date.now() - this.#lastActive;
      if (idle < this.timeout) this.#arm(this.timeout - idle);
      else this.emit("timeout");
    }, ms);
    // A socket's idle timer never keeps the process alive, as in Node.
    timer.unref();
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}

const encoder = new TextEncoder();
const NOT_ASCII = /[\u0080-\uffff]/;
/** Encodings in which an ASCII string is its own bytes, one a character (unlike hex or base64). */
const ONE_BYTE_ASCII = new Set(["utf8", "utf-8", "latin1", "binary", "ascii"]);

/**
 * A written chunk as bytes. Strings are encoded here rather than by Node's
 * `Buffer.from`, which is slow on Deno: Node's HTTP writes every header
 * block as a latin1 string, and for ASCII (nearly always) latin1 and UTF-8
 * are the same bytes, which `TextEncoder` makes natively.
 */
function toBytes(chunk: Uint8Array | string, encoding: string): Uint8Array {
  if (typeof chunk !== "string") return chunk;
  if (encoding === "utf8" || encoding === "utf-8") return encoder.encode(chunk);
  if ((encoding === "latin1" || encoding === "binary" || encoding === "ascii") && !NOT_ASCII.test(chunk)) {
    return encoder.encode(chunk);
  }
  return Buffer.from(chunk, encoding as BufferEncoding);
}

/**
 * Resolves once the `process.nextTick` callbacks queued so far have run. A
 * socket's data comes in a task of its own, after them; a conn's read
 * resolves as a promise callback, and a peer whose every step is one (a
 * client over a memory conn, in a loop) keeps the microtask queue from ever
 * running dry, so without this wait Node's tick queue, which runs only then,
 * would be starved: `node:http`'s server does its bookkeeping there (each
 * response's `'close'`), and would hold every response of a long run of
 * requests in memory.
 */
function ticksDone(): Promise<void> {
  return new Promise((resolve) => process.nextTick(resolve));
}

/**
 * Corked chunks as one buffer. Node's HTTP corks a header block (an ASCII
 * string, nearly always) with the body's bytes: those are encoded straight
 * into the one buffer, rather than each into its own and then joined.
 */
function gather(chunks: { chunk: Uint8Array | string; encoding: string }[]): Uint8Array {
  let total = 0;
  for (const { chunk, encoding } of chunks) {
    if (typeof chunk !== "string") total += chunk.byteLength;
    else if (!ONE_BYTE_ASCII.has(encoding) || NOT_ASCII.test(chunk)) {
      return Buffer.concat(chunks.map((c) => toBytes(c.chunk, c.encoding)));
    } else total += chunk.length;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const { chunk } of chunks) {
    if (typeof chunk === "string") {
      encoder.encodeInto(chunk, out.subarray(at));
      at += chunk.length;
    } else {
      out.set(chunk, at);
      at += chunk.byteLength;
    }
  }
  return out;
}

function familyOf(addr: Addr | undefined): string | undefined {
  if (addr?.port === undefined || addr.hostname === undefined) return undefined;
  return addr.hostname.includes(":") ? "IPv6" : "IPv4";
}

/**
 * Makes a Node `Duplex` (a {@linkcode ConnSocket}, which passes for a
 * `net.Socket`) over `conn`. Given a promise of a conn, the socket starts
 * out `connecting`, takes writes meanwhile, and emits `'connect'` and
 * `'ready'` once the conn is there, or `'error'` if it never comes. The
 * socket owns the conn: destroying it closes the conn.
 *
 * @example Node's own HTTP server over a memory pipe
 * ```ts
 * import http from "node:http";
 * import { pipe } from "@tether/tether";
 * import { toDuplex } from "@tether/tether/node";
 *
 * const server = http.createServer((_req, res) => res.end("hello from node:http"));
 * const [client, serverEnd] = pipe();
 * server.emit("connection", toDuplex(serverEnd, { allowHalfOpen: true }));
 * await client.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
 * const reply = new TextDecoder().decode(await new Response(client.readable).bytes());
 * console.log(reply.endsWith("hello from node:http")); // true
 * ```
 */
export function toDuplex(conn: Conn | Promise<Conn>, options: ToDuplexOptions = {}): ConnSocket {
  checkOptions(options, "toDuplex");
  if (
    !(conn instanceof Promise) &&
    (typeof conn !== "object" || conn === null || typeof conn.read !== "function")
  ) {
    throw new TypeError(`toDuplex() takes a Conn or a promise of one, got ${describe(conn)}`);
  }
  return new ConnSocket(conn, options);
}
