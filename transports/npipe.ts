/**
 * Named pipes: `listen()`/`connect()` with `transport: "pipe"` and Windows
 * pipe addresses, `\\.\pipe\NAME`.
 *
 * On Linux and macOS the name maps to a Unix socket file (see
 * {@linkcode pipeSocketPath}): `$XDG_RUNTIME_DIR/tether-pipe-NAME.sock`, or
 * the temp dir (`$TMPDIR`, else `/tmp`) when `XDG_RUNTIME_DIR` is unset, with
 * mode `0o600`. Pipe names are case-insensitive, as on Windows. A connect
 * waits, within its signal, for a pipe that does not exist yet or has all of
 * its `maxInstances` in use, polling with backoff like npipe's `Dial`; so a
 * pipe connect without a signal waits for as long as it takes.
 *
 * Both ends speak a one-byte greeting: the listener answers each connect
 * with "ready" or "busy" (at `maxInstances`), so a pipe listener talks to
 * pipe clients, not to arbitrary Unix socket peers.
 *
 * On Windows a real named pipe is used, through `node:net` (see
 * `npipe_windows.ts`).
 *
 * @example
 * ```ts
 * import { connect, listen } from "@tether/tether";
 *
 * const path = `\\\\.\\pipe\\tether-doc-${crypto.randomUUID()}`;
 * const dialing = connect({ transport: "pipe", path, signal: AbortSignal.timeout(5000) });
 * await using listener = await listen({ transport: "pipe", path, maxInstances: 4 });
 * await using server = await listener.accept();
 * await using client = await dialing; // waited for the listener to appear
 * await client.write(new Uint8Array([7]));
 * console.log(await server.read(new Uint8Array(1))); // 1
 * ```
 *
 * @module
 */

import type { Addr, CallOptions, Conn } from "../conn.ts";
import type { Dialer, Listener } from "../listener.ts";
import { abortError, BacklogFullError, ConnectionRefusedError, ConnError, ProtocolError } from "../errors.ts";
import { delay } from "../_async/delay.ts";
import { onAbort } from "../_async/waiter.ts";
import { checkBufferSize, checkOptions, describe } from "../_validate.ts";
import { SocketConn } from "./socket_conn.ts";
import { dial } from "./socket.ts";
import { maxSocketPath, openUnixListener } from "./unix_bind.ts";
import { closeQuietly } from "./socket_errors.ts";
import { SocketListener } from "./socket_listener.ts";

/**
 * Options of a pipe {@linkcode listenPipe}.
 *
 * @example
 * ```ts
 * import type { PipeListenOptions } from "@tether/tether";
 *
 * const options: PipeListenOptions = { transport: "pipe", path: "\\\\.\\pipe\\app", maxInstances: 4 };
 * console.log(options.maxInstances); // 4
 * ```
 */
export interface PipeListenOptions {
  /** The named-pipe transport. */
  transport: "pipe";
  /** The pipe's address, `\\.\pipe\NAME`. */
  path: string;
  /**
   * How many conns may be open at once, 1 to 255 as on Windows; default no
   * limit. A connect beyond it waits, like one to a busy pipe.
   */
  maxInstances?: number;
  /** Bytes read ahead and queued per conn; default 64 KiB. */
  bufferSize?: number;
}

/**
 * Options of a pipe {@linkcode connectPipe}.
 *
 * @example
 * ```ts
 * import type { PipeConnectOptions } from "@tether/tether";
 *
 * const options: PipeConnectOptions = { transport: "pipe", path: "\\\\.\\pipe\\app", signal: AbortSignal.timeout(5000) };
 * console.log(options.transport); // "pipe"
 * ```
 */
export interface PipeConnectOptions extends CallOptions {
  /** The named-pipe transport. */
  transport: "pipe";
  /** The pipe's address, `\\.\pipe\NAME`. */
  path: string;
  /** Bytes read ahead and queued; default 64 KiB. */
  bufferSize?: number;
}

/** The listener's greeting: this conn is an instance of the pipe. */
const READY = 0x06;
/** The listener's greeting: all instances are in use; try again. */
const BUSY = 0x15;
/** Backoff between connect attempts, doubling from the first to the last. */
const FIRST_RETRY_MS = 5;
const LAST_RETRY_MS = 200;
/** Conns a pipe listener admits ahead of `accept()`; beyond them, connects wait as for a busy pipe. */
const PIPE_BACKLOG = 32;
const ADDRESS = /^\\\\([^\\]+)\\pipe\\([^\\]+)$/i;
const FORM = "\\\\.\\pipe\\NAME";

/**
 * Checks a pipe address and returns its pipe name. A malformed address is a
 * `TypeError` naming the expected form; a remote one (`\\host\pipe\NAME`)
 * is refused where there are no remote pipes.
 */
export function parsePipeAddress(address: unknown): string {
  if (typeof address !== "string") {
    throw new TypeError(`pipe path must be a string of the form ${FORM}, got ${describe(address)}`);
  }
  const match = ADDRESS.exec(address);
  if (match === null) {
    throw new TypeError(
      `pipe path must have the form ${FORM} (NAME without backslashes), got ${JSON.stringify(address)}`,
    );
  }
  if (!address.isWellFormed()) {
    throw new TypeError(
      `pipe path must be well-formed Unicode (no lone surrogates), got ${JSON.stringify(address)}`,
    );
  }
  if (address.length > 256) {
    throw new RangeError(`pipe path must be at most 256 characters, got ${address.length}`);
  }
  const [, host, name] = match;
  if (host !== "." && Deno.build.os !== "windows") {
    throw new TypeError(
      `remote pipe ${JSON.stringify(address)} is not supported on ${Deno.build.os}: ` +
        `only local pipes (${FORM}) are; use the tcp transport to reach another host`,
    );
  }
  return name;
}

/**
 * The Unix socket file a pipe address maps to on Linux and macOS:
 * `tether-pipe-NAME.sock` (NAME lowercased and URI-encoded) in
 * `$XDG_RUNTIME_DIR`, else `$TMPDIR`, else `/tmp`. Reading those variables
 * needs `--allow-env=XDG_RUNTIME_DIR,TMPDIR`.
 *
 * @example
 * ```ts
 * import { pipeSocketPath } from "@tether/tether";
 *
 * console.log(pipeSocketPath("\\\\.\\pipe\\My-App").endsWith("/tether-pipe-my-app.sock")); // true
 * ```
 */
export function pipeSocketPath(address: string): string {
  const name = parsePipeAddress(address);
  const dir = (env("XDG_RUNTIME_DIR") || env("TMPDIR") || "/tmp").replace(/\/+$/, "");
  const path = `${dir}/tether-pipe-${encodeURIComponent(name.toLowerCase())}.sock`;
  const bytes = new TextEncoder().encode(path).byteLength;
  const max = maxSocketPath();
  if (bytes > max) {
    throw new RangeError(
      `pipe ${JSON.stringify(address)} maps to ${path}, ${bytes} bytes; a Unix socket path takes at most ` +
        `${max}: use a shorter pipe name (or a shorter XDG_RUNTIME_DIR)`,
    );
  }
  return path;
}

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch (err) {
    throw new ConnError({
      code: "ENOTCAPABLE",
      summary: "pipe addresses map to a Unix socket in $XDG_RUNTIME_DIR or the temp dir: " +
        "missing --allow-env=XDG_RUNTIME_DIR,TMPDIR",
      detail: err instanceof Error ? err.message : String(err),
      cause: err,
    });
  }
}

/**
 * A named pipe listener.
 *
 * @example
 * ```ts
 * import { listen, type PipeListener } from "@tether/tether";
 *
 * const path = `\\\\.\\pipe\\tether-doc-${crypto.randomUUID()}`;
 * await using listener: PipeListener = await listen({ transport: "pipe", path });
 * await using conn = await listener.dialer().dial();
 * console.log(conn.remoteAddr.transport); // "pipe"
 * ```
 */
export interface PipeListener extends Listener {
  /** A dialer that connects to this pipe: what `createFetch` and `serveHttp`'s `fetch` take. */
  dialer(): Dialer;
}

/**
 * Listens on a named pipe. At most `maxInstances` conns are open at once;
 * further connects wait until one closes.
 *
 * @example
 * ```ts
 * import { listen } from "@tether/tether";
 *
 * await using listener = await listen({ transport: "pipe", path: "\\\\.\\pipe\\tether-doc-listen" });
 * console.log(listener.addr.address); // "\\.\pipe\tether-doc-listen"
 * ```
 */
export async function listenPipe(options: PipeListenOptions): Promise<PipeListener> {
  checkOptions(options, "listen");
  const name = parsePipeAddress(options.path);
  const maxInstances = options.maxInstances ?? Infinity;
  if (
    maxInstances !== Infinity &&
    (typeof maxInstances !== "number" || !Number.isInteger(maxInstances) || maxInstances < 1 ||
      maxInstances > 255)
  ) {
    throw new RangeError(`maxInstances must be a whole number from 1 to 255, got ${describe(maxInstances)}`);
  }
  const bufferSize = checkBufferSize(options.bufferSize);
  const addr: Addr = { transport: "pipe", address: `\\\\.\\pipe\\${name}` };
  const dialSelf = (call?: CallOptions) =>
    connectPipe({ transport: "pipe", path: addr.address, bufferSize, signal: call?.signal });
  if (Deno.build.os === "windows") {
    // Loaded only here: node:net is for Windows pipes alone.
    const { listenWindowsPipe } = await import("./npipe_windows.ts");
    return listenWindowsPipe(
      { transport: "pipe", address: options.path },
      maxInstances,
      bufferSize,
      dialSelf,
    );
  }
  const where = `pipe:${addr.address}`;
  const path = pipeSocketPath(options.path);
  const native = await openUnixListener(path, 0o600, where, path);
  let open = 0;
  // A client waits for its greeting, so connects are admitted ahead of
  // accept(), up to a backlog, as a kernel completes a socket's connect.
  return new SocketListener(native, addr, {
    admit: async (conn) => {
      const full = open >= maxInstances;
      try {
        await conn.write(Uint8Array.of(full ? BUSY : READY));
      } catch {
        return null; // the client gave up already
      }
      if (full) return null;
      open++;
      const socket = new SocketConn(conn, { localAddr: addr, remoteAddr: addr, where, bufferSize });
      socket.closed.then(() => open--);
      return socket;
    },
    admitAhead: PIPE_BACKLOG,
    dial: (options) =>
      connectPipe({ transport: "pipe", path: addr.address, bufferSize, signal: options?.signal }),
  });
}

/**
 * Connects to a named pipe, waiting within `signal` while the pipe does not
 * exist or is busy (all instances in use, or its backlog full). On Linux
 * and macOS, a pipe whose socket path is taken by something other than a
 * socket fails at once with `ConnectionRefusedError`: no listener can get it.
 *
 * @example
 * ```ts
 * import { connect, ConnError } from "@tether/tether";
 *
 * try {
 *   await connect({ transport: "pipe", path: "\\\\.\\pipe\\nobody-listens", signal: AbortSignal.timeout(50) });
 * } catch (err) {
 *   if (err instanceof ConnError) console.log(err.code, err.timeout); // "ETIMEDOUT" true
 * }
 * ```
 */
export async function connectPipe(options: PipeConnectOptions): Promise<Conn> {
  checkOptions(options, "connect");
  const bufferSize = checkBufferSize(options.bufferSize);
  const { signal } = options;
  const addr: Addr = { transport: "pipe", address: `\\\\.\\pipe\\${parsePipeAddress(options.path)}` };
  const where = `pipe:${addr.address}`;
  const timedOut = (reason: unknown) =>
    abortError(reason, {
      op: "connect",
      addr: where,
      detail: reasonIsTimeout(reason) ? "no listener had room for it in time" : undefined,
    });
  if (Deno.build.os === "windows") {
    const remote: Addr = { transport: "pipe", address: options.path }; // may name another host there
    const { connectWindowsPipe } = await import("./npipe_windows.ts");
    return connectWindowsPipe(remote, bufferSize, signal, () => delay(LAST_RETRY_MS, signal, timedOut));
  }
  const path = pipeSocketPath(options.path);
  for (let wait = FIRST_RETRY_MS;; wait = Math.min(wait * 2, LAST_RETRY_MS)) {
    if (signal?.aborted) throw timedOut(signal.reason);
    let native: Deno.UnixConn | null = null;
    try {
      native = await dial(() => Deno.connect({ transport: "unix", path }), signal, where, path);
    } catch (err) {
      if (isBacklogFull(err)) {
        // The listener is slow to accept: wait, as for a busy pipe.
      } else if (err instanceof ConnectionRefusedError) {
        await checkNotOtherFile(path, where); // not there yet, or a listener's leftover: wait
      } else {
        throw err;
      }
    }
    if (native !== null) {
      let greeting: number | null;
      try {
        greeting = await readGreeting(native, signal, where);
      } catch (err) {
        closeQuietly(native);
        throw signal?.aborted ? timedOut(signal.reason) : err;
      }
      if (greeting === READY) {
        return new SocketConn(native, { localAddr: addr, remoteAddr: addr, where, bufferSize });
      }
      closeQuietly(native); // busy, or the listener closed meanwhile
    }
    await delay(wait, signal, timedOut);
  }
}

function reasonIsTimeout(reason: unknown): boolean {
  return reason instanceof DOMException && reason.name === "TimeoutError";
}

function isBacklogFull(err: unknown): boolean {
  return err instanceof BacklogFullError;
}

/**
 * Fails if `path` is there and is not a socket: no pipe listener can come
 * to that path until it is removed (listen refuses to replace it), so
 * waiting would only wait out the signal.
 */
async function checkNotOtherFile(path: string, where: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch {
    return; // not there (yet): a connect waits for it
  }
  if (!info.isSocket) {
    throw new ConnectionRefusedError({
      addr: where,
      detail:
        `${path} exists and is not a socket, so no pipe listener can take that name until it is removed`,
    });
  }
}

/** Reads the listener's one-byte greeting; `null` if it hung up. */
async function readGreeting(
  native: Deno.UnixConn,
  signal: AbortSignal | undefined,
  where: string,
): Promise<number | null> {
  const byte = new Uint8Array(1);
  const stop = onAbort(signal, () => closeQuietly(native)); // Deno's read can't be aborted otherwise
  let n: number | null;
  try {
    n = await native.read(byte);
  } catch {
    signal?.throwIfAborted();
    return null;
  } finally {
    stop();
  }
  // An abort between the read settling and now closed the socket: the greeting is moot.
  signal?.throwIfAborted();
  if (n === null) return null;
  if (byte[0] !== READY && byte[0] !== BUSY) {
    throw new ProtocolError({
      op: "connect",
      addr: where,
      detail: `not a tether pipe listener: greeting byte ${byte[0]}`,
    });
  }
  return byte[0];
}
