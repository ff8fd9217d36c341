/**
 * Unix and TCP sockets as {@linkcode Conn}s: `listen()`/`connect()` with
 * `transport: "unix"` or `"tcp"`, wrapping `Deno.listen`/`Deno.connect`.
 *
 * A Unix listener's socket file has mode `0o600` from the moment it appears
 * (`mode` widens it), a socket file left by a dead process is replaced, a
 * live one gives `AddrInUseError`, a path that is not a socket is never
 * deleted, and `close()` removes the file while it is still the listener's.
 * Of any number of listens racing for one path, in one process or many,
 * exactly one wins and is reachable; the others get `AddrInUseError`. See
 * `unix_bind.ts` for how, and `docs/sockets.md` for the whole story.
 *
 * Permissions: a Unix connect needs `--allow-read` and `--allow-write` for
 * the path, plus `--allow-net=unix:<path>` (or a bare `--allow-net`). A Unix
 * listen is best given `--allow-read` and `--allow-write` for the socket's
 * directory and a bare `--allow-net`, which let it bind at a private name
 * first; with the connect's flags it binds in place, and the file has the
 * umask's mode for a moment. TCP needs `--allow-net`.
 *
 * @example Two ends of a Unix socket
 * ```ts
 * import { connect, listen } from "@tether/tether";
 *
 * const dir = await Deno.makeTempDir();
 * const path = `${dir}/app.sock`;
 * await using listener = await listen({ transport: "unix", path });
 * const dialing = connect({ transport: "unix", path });
 * await using server = await listener.accept();
 * await using client = await dialing;
 * await client.write(new TextEncoder().encode("hi"));
 * console.log(await server.read(new Uint8Array(2))); // 2
 * listener.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

import type { Addr, CallOptions, NetAddr } from "../conn.ts";
import type { Dialer, Listener } from "../listener.ts";
import { abortError } from "../errors.ts";
import { abortable } from "../_async/abortable.ts";
import { checkBufferSize, checkOptions, checkWhole, describe, refusal } from "../_validate.ts";
import { SocketConn } from "./socket_conn.ts";
import { closeQuietly, socketError } from "./socket_errors.ts";
import { SocketListener } from "./socket_listener.ts";
import { byteLength, maxSocketPath, openUnixListener } from "./unix_bind.ts";

export { SocketConn };

/** The address of a Unix socket's unnamed end: a client's own, a server's peer. */
const UNNAMED: Addr = Object.freeze({ transport: "unix", address: "" });

/**
 * A TCP listener: its `addr` has the `hostname` and `port` it listens on.
 *
 * @example
 * ```ts
 * import { listen, type TcpListener } from "@tether/tether";
 *
 * await using listener: TcpListener = await listen({ transport: "tcp", hostname: "127.0.0.1", port: 0 });
 * console.log(listener.addr.port > 0); // true
 * ```
 */
export interface TcpListener extends Listener<SocketConn> {
  /** The address listened on, with the port picked for `port: 0`. */
  readonly addr: NetAddr;
  /**
   * A dialer that connects to this listener from this process (to
   * loopback, for a listener on every interface): what `createFetch` and
   * `serveHttp`'s `fetch` take, as on a memory listener.
   */
  dialer(): Dialer;
}

/**
 * A Unix socket listener.
 *
 * @example
 * ```ts
 * import { listen, type UnixListener } from "@tether/tether";
 *
 * const dir = await Deno.makeTempDir();
 * await using listener: UnixListener = await listen({ transport: "unix", path: `${dir}/app.sock` });
 * await using conn = await listener.dialer().dial();
 * console.log(conn.remoteAddr.address === listener.addr.address); // true
 * ```
 */
export interface UnixListener extends Listener<SocketConn> {
  /**
   * A dialer that connects to this listener's socket file: what
   * `createFetch` and `serveHttp`'s `fetch` take, as on a memory listener.
   */
  dialer(): Dialer;
}

/**
 * Options of a Unix {@linkcode listenUnix}.
 *
 * @example
 * ```ts
 * import type { UnixListenOptions } from "@tether/tether";
 *
 * const options: UnixListenOptions = { transport: "unix", path: "/run/user/1000/app.sock", mode: 0o660 };
 * console.log(options.mode); // 432
 * ```
 */
export interface UnixListenOptions {
  /** The Unix socket transport. */
  transport: "unix";
  /** Where the socket file goes. */
  path: string;
  /** The socket file's mode; default `0o600` (owner only). */
  mode?: number;
  /** Bytes read ahead and queued per conn; default 64 KiB. */
  bufferSize?: number;
}

/**
 * Options of a Unix {@linkcode connectUnix}.
 *
 * @example
 * ```ts
 * import type { UnixConnectOptions } from "@tether/tether";
 *
 * const options: UnixConnectOptions = { transport: "unix", path: "/tmp/app.sock", signal: AbortSignal.timeout(1000) };
 * console.log(options.transport); // "unix"
 * ```
 */
export interface UnixConnectOptions extends CallOptions {
  /** The Unix socket transport. */
  transport: "unix";
  /** The listener's socket file. */
  path: string;
  /** Bytes read ahead and queued; default 64 KiB. */
  bufferSize?: number;
}

/**
 * Options of a TCP {@linkcode listenTcp}.
 *
 * @example
 * ```ts
 * import type { TcpListenOptions } from "@tether/tether";
 *
 * const options: TcpListenOptions = { transport: "tcp", hostname: "127.0.0.1", port: 0 };
 * console.log(options.port); // 0
 * ```
 */
export interface TcpListenOptions {
  /** The TCP transport. */
  transport: "tcp";
  /** The interface to listen on; default `"0.0.0.0"`, as with `Deno.listen`. */
  hostname?: string;
  /** The port; `0` picks a free one. */
  port: number;
  /** Bytes read ahead and queued per conn; default 64 KiB. */
  bufferSize?: number;
}

/**
 * Options of a TCP {@linkcode connectTcp}.
 *
 * @example
 * ```ts
 * import type { TcpConnectOptions } from "@tether/tether";
 *
 * const options: TcpConnectOptions = { transport: "tcp", hostname: "example.com", port: 443 };
 * console.log(options.hostname); // "example.com"
 * ```
 */
export interface TcpConnectOptions extends CallOptions {
  /** The TCP transport. */
  transport: "tcp";
  /** The host to connect to. */
  hostname: string;
  /** The port to connect to. */
  port: number;
  /** Bytes read ahead and queued; default 64 KiB. */
  bufferSize?: number;
}

/**
 * Listens on a Unix socket at `path`, replacing a stale socket file. The
 * file has mode `0o600` (or `mode`) from the moment it appears; that takes
 * read and write access to its directory and a bare `--allow-net`, else the
 * file has the umask's mode until `listen` sets it, a moment later. A path
 * over the kernel's limit (107 bytes on Linux, 103 on macOS) is a `RangeError`.
 *
 * @example
 * ```ts
 * import { listen } from "@tether/tether";
 *
 * const dir = await Deno.makeTempDir();
 * const listener = await listen({ transport: "unix", path: `${dir}/s.sock` });
 * console.log(((await Deno.stat(`${dir}/s.sock`)).mode! & 0o777).toString(8)); // "600"
 * listener.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function listenUnix(options: UnixListenOptions): Promise<UnixListener> {
  checkOptions(options, "listen");
  const path = checkPath(options.path);
  const mode = options.mode ?? 0o600;
  if (typeof mode !== "number" || !Number.isInteger(mode) || mode < 0 || mode > 0o777) {
    throw new TypeError(`mode must be a file mode from 0 to 0o777, got ${describe(mode)}`);
  }
  const bufferSize = checkBufferSize(options.bufferSize);
  const where = `unix:${path}`;
  const native = await openUnixListener(path, mode, where);
  const addr: Addr = { transport: "unix", address: path };
  return new SocketListener(native, addr, {
    admit: (conn) => new SocketConn(conn, { localAddr: addr, remoteAddr: UNNAMED, where, bufferSize }),
    dial: (options) => connectUnix({ transport: "unix", path, bufferSize, signal: options?.signal }),
  });
}

/**
 * Connects to the Unix socket at `path`.
 *
 * @example
 * ```ts
 * import { connect, ConnectionRefusedError } from "@tether/tether";
 *
 * const err = await connect({ transport: "unix", path: "/nonexistent/x.sock" }).catch((e: Error) => e);
 * console.log(err instanceof ConnectionRefusedError); // true
 * ```
 */
export async function connectUnix(options: UnixConnectOptions): Promise<SocketConn> {
  checkOptions(options, "connect");
  const path = checkPath(options.path);
  const bufferSize = checkBufferSize(options.bufferSize);
  const where = `unix:${path}`;
  const native = await dial(() => Deno.connect({ transport: "unix", path }), options.signal, where);
  return new SocketConn(native, {
    localAddr: UNNAMED,
    remoteAddr: { transport: "unix", address: path },
    where,
    bufferSize,
  });
}

/**
 * Listens on a TCP port; `port: 0` picks a free one. The listener's `addr`
 * has the `hostname` and `port` to connect to, and `address` is
 * `"host:port"` (IPv6 hosts in brackets).
 *
 * @example
 * ```ts
 * import { listen } from "@tether/tether";
 *
 * using listener = await listen({ transport: "tcp", hostname: "127.0.0.1", port: 0 });
 * console.log(listener.addr.address === `127.0.0.1:${listener.addr.port}`); // true
 * ```
 */
export function listenTcp(options: TcpListenOptions): Promise<TcpListener> {
  try {
    checkOptions(options, "listen");
    const hostname = checkHostname(options.hostname ?? "0.0.0.0");
    const port = checkPort(options.port);
    const bufferSize = checkBufferSize(options.bufferSize);
    let native: Deno.TcpListener;
    try {
      native = Deno.listen({ transport: "tcp", hostname, port });
    } catch (err) {
      throw socketError(err, "listen", `tcp:${hostPort(hostname, port)}`);
    }
    const addr = netAddr(hostname, native.addr.port);
    const listener = new SocketListener(native, addr, {
      admit: (conn) =>
        new SocketConn(conn, {
          // The conn's own: on a listener for every interface ("0.0.0.0"), the one it came in on.
          localAddr: fromNative(conn.localAddr),
          remoteAddr: fromNative(conn.remoteAddr),
          bufferSize,
        }),
      dial: (options) =>
        connectTcp({
          transport: "tcp",
          hostname: loopbackFor(hostname),
          port: addr.port,
          bufferSize,
          signal: options?.signal,
        }),
    });
    return Promise.resolve(listener as SocketListener & { readonly addr: NetAddr });
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * Connects to a TCP port.
 *
 * @example
 * ```ts
 * import { connect, listen } from "@tether/tether";
 *
 * using listener = await listen({ transport: "tcp", hostname: "127.0.0.1", port: 0 });
 * using conn = await connect({ transport: "tcp", hostname: "127.0.0.1", port: listener.addr.port });
 * console.log(conn.remoteAddr.address === listener.addr.address); // true
 * ```
 */
export async function connectTcp(options: TcpConnectOptions): Promise<SocketConn> {
  checkOptions(options, "connect");
  const hostname = checkHostname(options.hostname);
  const port = checkPort(options.port);
  if (port === 0) {
    throw new RangeError(
      'port 0 can\'t be connected to: it means "pick a free port" only to listen; connect to the port ' +
        "the listener reports in its addr.port",
    );
  }
  const bufferSize = checkBufferSize(options.bufferSize);
  const where = `tcp:${hostPort(hostname, port)}`;
  const native = await dial(() => Deno.connect({ transport: "tcp", hostname, port }), options.signal, where);
  // The addresses the socket has (a host name resolved), as Deno's own; errors name the host as given.
  return new SocketConn(native, {
    localAddr: fromNative(native.localAddr),
    remoteAddr: fromNative(native.remoteAddr),
    where,
    bufferSize,
  });
}

/** Where a connect from this host reaches a listener on `hostname`: loopback for every interface. */
function loopbackFor(hostname: string): string {
  if (hostname === "0.0.0.0") return "127.0.0.1";
  if (hostname === "::" || hostname === "[::]") return "::1";
  return hostname;
}

/** A Deno TCP address as tether's. */
function fromNative(addr: Deno.Addr): NetAddr {
  const { hostname, port } = addr as Deno.NetAddr;
  return netAddr(hostname, port);
}

/** A TCP address with its host (brackets stripped) and port apart. */
export function netAddr(hostname: string, port: number): NetAddr {
  const host = hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
  return { transport: "tcp", address: hostPort(host, port), hostname: host, port };
}

/**
 * Starts a native connect and waits for it within `signal`. On abort it
 * rejects at once with a `ConnError` naming the connect (its cause the
 * signal's reason), and closes the conn if it arrives later. Errors name
 * `where`; `socketPath` is the socket file behind it, for advice on missing
 * flags.
 */
export function dial<C extends Deno.Conn>(
  connect: () => Promise<C>,
  signal: AbortSignal | undefined,
  where: string,
  socketPath?: string,
): Promise<C> {
  if (signal === undefined) return connectMapped(connect, where, socketPath);
  // A signal that is not an AbortSignal is refused before anything connects.
  const refused = refusal({ signal }, { op: "connect", addr: where });
  if (refused !== undefined) return Promise.reject(refused);
  let connecting: Promise<C>;
  try {
    connecting = connect();
  } catch (err) {
    return Promise.reject(socketError(err, "connect", where, socketPath));
  }
  const mapped = connecting.catch((err) => Promise.reject(socketError(err, "connect", where, socketPath)));
  return abortable(
    mapped,
    signal,
    closeQuietly,
    (reason) => abortError(reason, { op: "connect", addr: where }),
  );
}

/** A connect with nothing to abort it: its errors mapped, and nothing else in the way. */
async function connectMapped<C extends Deno.Conn>(
  connect: () => Promise<C>,
  where: string,
  socketPath: string | undefined,
): Promise<C> {
  try {
    return await connect();
  } catch (err) {
    throw socketError(err, "connect", where, socketPath);
  }
}

/** Formats `host:port`, bracketing IPv6 hosts. */
export function hostPort(hostname: string, port: number): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}

const ASCII = /^[ -~]*$/; // printable ASCII: one byte a character

/**
 * Checks a Unix socket path: a non-empty string without NUL or lone
 * surrogates, at most `maxSocketPath()` bytes.
 */
export function checkPath(path: unknown): string {
  if (typeof path !== "string") throw new TypeError(`path must be a string, got ${describe(path)}`);
  if (path.length === 0) throw new TypeError("path must not be empty");
  if (path.includes("\0")) throw new TypeError(`path must not contain NUL, got ${describe(path)}`);
  if (!path.isWellFormed()) {
    throw new TypeError(`path must be well-formed Unicode (no lone surrogates), got ${describe(path)}`);
  }
  const max = maxSocketPath();
  // A UTF-16 code unit takes at most 3 bytes in UTF-8, an ASCII one 1: most paths need no encoding to be measured.
  if (path.length * 3 <= max || (path.length <= max && ASCII.test(path))) return path;
  const bytes = byteLength(path);
  if (bytes > max) {
    throw new RangeError(
      `unix socket path ${JSON.stringify(path)} is ${bytes} bytes; a Unix socket path takes at most ` +
        `${max} (sun_path): use a shorter path`,
    );
  }
  return path;
}

function checkHostname(hostname: unknown): string {
  if (typeof hostname !== "string" || hostname.length === 0) {
    throw new TypeError(`hostname must be a non-empty string, got ${describe(hostname)}`);
  }
  // "[::1]" as written in a URL: Deno wants the address without brackets.
  return hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
}

function checkPort(port: unknown): number {
  return checkWhole(port, "port", 0, 65535);
}
