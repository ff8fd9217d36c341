/**
 * Where a server named `name` listens: a Unix socket file, a named pipe or
 * a TCP port. Private to `ipc/`.
 *
 * @module
 */

import type { ConnectOptions } from "../transports/mod.ts";
import { describe } from "../_validate.ts";
import { ConnError } from "../errors.ts";
import type { IpcAddressOptions, IpcProtocol } from "./types.ts";

/** The address options `serve()` and `connectClient()` share. */
export type AddressOptions = IpcAddressOptions;

/** A resolved address: what to listen on or dial, and how to name it in messages. */
export interface IpcAddress {
  /** A label for logs and errors: the name, or the TCP address. */
  readonly label: string;
  /** The transport options, without a signal. */
  readonly options: ConnectOptions;
}

/**
 * Variables the process may read. A permission query costs tens of
 * microseconds, and a client looks its directory up at every connect; a
 * grant is remembered.
 */
const granted = new Set<string>();

/**
 * The variable `name`, or `undefined` when unset. Without the grant to read
 * it, an error: a server and a client that guessed differently (one in
 * `$XDG_RUNTIME_DIR`, one in the shared `/tmp`) would never meet, and a
 * name in `/tmp` can be taken first by another user.
 */
function env(name: string): string | undefined {
  if (!granted.has(name)) {
    const state = Deno.permissions.querySync({ name: "env", variable: name }).state;
    if (state !== "granted") {
      throw new ConnError({
        code: "ENOTCAPABLE",
        summary: "ipc names map to a Unix socket in $XDG_RUNTIME_DIR or the temp dir: " +
          "missing --allow-env=XDG_RUNTIME_DIR,TMPDIR",
        detail: `${name} is not readable (${state})`,
      });
    }
    granted.add(name);
  }
  return Deno.env.get(name) || undefined;
}

/**
 * The directory tether's own ipc sockets go in: `$XDG_RUNTIME_DIR` (private
 * to the user), else the temp dir (`$TMPDIR`, else `/tmp`). Reading those
 * variables needs `--allow-env=XDG_RUNTIME_DIR,TMPDIR`; without it, a
 * `ConnError` (`ENOTCAPABLE`) says so.
 */
export function socketDir(): string {
  return env("XDG_RUNTIME_DIR") ?? env("TMPDIR") ?? "/tmp";
}

/**
 * The directory golang-ipc hard-codes on Linux and macOS (it never reads
 * `$TMPDIR`).
 */
export const GOLANG_IPC_DIR = "/tmp";

/** Checks a server name; golang-ipc's names may reach into a subdirectory, as there. */
function checkName(name: unknown, protocol: IpcProtocol): string {
  if (typeof name !== "string") throw new TypeError(`name must be a string, got ${describe(name)}`);
  if (name.length === 0) throw new TypeError("name must not be empty");
  if (name.includes("\0")) throw new TypeError(`name must not contain NUL, got ${describe(name)}`);
  if (protocol === "tether" && /[/\\]/.test(name)) {
    throw new TypeError(
      `name must not contain "/" or "\\": it names a socket file, got ${describe(name)}`,
    );
  }
  return name;
}

/** Resolves the address of `options` for `protocol`. */
export function resolveAddress(options: AddressOptions, protocol: IpcProtocol): IpcAddress {
  const windows = Deno.build.os === "windows";
  const transport = options.transport ?? (windows ? "pipe" : "unix");
  if (transport === "tcp") {
    const hostname = options.hostname ?? "127.0.0.1";
    const port = options.port;
    if (typeof port !== "number") throw new TypeError(`transport "tcp" needs a port, got ${describe(port)}`);
    const label = options.name === undefined ? `tcp:${hostname}:${port}` : checkName(options.name, protocol);
    return { label, options: { transport: "tcp", hostname, port } };
  }
  if (options.hostname !== undefined || options.port !== undefined) {
    throw new TypeError(`hostname and port are for transport "tcp", not ${describe(transport)}`);
  }
  const name = checkName(options.name, protocol);
  if (transport === "pipe") {
    return { label: name, options: { transport: "pipe", path: `\\\\.\\pipe\\${name}` } };
  }
  if (transport !== "unix") {
    throw new TypeError(`transport must be "unix", "pipe" or "tcp", got ${describe(transport)}`);
  }
  const dir = protocol === "golang-ipc" ? GOLANG_IPC_DIR : socketDir();
  return { label: name, options: { transport: "unix", path: `${dir}/${name}.sock` } };
}
