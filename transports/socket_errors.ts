/**
 * Turns the errors Deno's sockets throw into the contract's error classes,
 * naming the address (and, for a missing permission, the flags) in the
 * message. Internal to the socket transports.
 *
 * @module
 */

import {
  AddrInUseError,
  BacklogFullError,
  ConnClosedError,
  ConnectionRefusedError,
  ConnError,
} from "../errors.ts";

/**
 * The Deno flags `op` on `where` needs, for permission errors. `socketPath`
 * is the Unix socket file behind the address, when `where` does not name it
 * (a pipe's does not).
 */
export function flagsFor(where: string, op: string, socketPath?: string): string {
  if (where.startsWith("tcp:")) return `--allow-net (or --allow-net=${where.slice(4)})`;
  const path = socketPath ?? where.slice(where.indexOf(":") + 1);
  if (op === "listen") {
    return `--allow-read and --allow-write for ${path}, plus --allow-net=unix:${path}; or, better, ` +
      `--allow-read and --allow-write for ${dirOf(path)} and a bare --allow-net, which let listen bind ` +
      `at a private name there first, so the socket file has its mode from the moment it appears`;
  }
  return `--allow-read and --allow-write for ${path}, plus --allow-net (or --allow-net=unix:${path})`;
}

/** The directory a socket path is in, as the kernel resolves it. */
export function dirOf(path: string): string {
  const slash = path.lastIndexOf("/");
  if (slash === -1) return ".";
  return slash === 0 ? "/" : path.slice(0, slash);
}

/**
 * Maps `err`, thrown while doing `op` (such as `"connect"`) on `where` (such
 * as `"unix:/run/app.sock"`), to a {@linkcode ConnError}; `socketPath` is
 * the socket file behind `where`, when `where` does not name it. Errors that
 * are not about the socket (bad arguments, say) pass through unchanged.
 */
export function socketError(err: unknown, op: string, where: string, socketPath?: string): unknown {
  if (err instanceof ConnError) return err;
  const cause = { cause: err };
  const detail = err instanceof Error ? err.message : String(err);
  if (err instanceof Deno.errors.ConnectionRefused) return new ConnectionRefusedError(where, cause);
  if (err instanceof Deno.errors.NotFound && op === "listen") {
    return new ConnError(`${op} on ${where}: ${detail}`, { code: "ENOENT", cause: err });
  }
  if (err instanceof Deno.errors.NotFound) {
    return new ConnectionRefusedError(where, { ...cause, reason: "no socket file at that path" });
  }
  if (err instanceof Deno.errors.AddrInUse) return new AddrInUseError(where, cause);
  if (err instanceof Deno.errors.WouldBlock) {
    // A Unix socket's connect says EAGAIN when the listener's backlog is full.
    return new BacklogFullError(where, undefined, cause);
  }
  if (
    err instanceof Deno.errors.BrokenPipe || err instanceof Deno.errors.ConnectionReset ||
    err instanceof Deno.errors.ConnectionAborted || err instanceof Deno.errors.NotConnected ||
    err instanceof Deno.errors.BadResource || err instanceof Deno.errors.Interrupted
  ) {
    return new ConnClosedError(`${op} on ${where}: connection closed (${detail})`, cause);
  }
  if (err instanceof Deno.errors.PermissionDenied) {
    return new ConnError(`${op} on ${where}: permission denied (${detail})`, { code: "EACCES", cause: err });
  }
  if (err instanceof Deno.errors.NotCapable) {
    const flag = /--allow-[a-z]+/.exec(detail)?.[0];
    return new ConnError(
      `${op} on ${where}: ${flag ? `missing ${flag}; ` : ""}it needs ${
        flagsFor(where, op, socketPath)
      } (${detail})`,
      { code: "ENOTCAPABLE", cause: err },
    );
  }
  if (err instanceof Deno.errors.NotADirectory) {
    return new ConnError(`${op} on ${where}: a parent of the path is not a directory (${detail})`, {
      code: "ENOTDIR",
      cause: err,
    });
  }
  if (isLookupFailure(err)) {
    const temporary = /temporary/i.test(detail);
    return new ConnError(`${op} on ${where}: cannot resolve the host name (${detail})`, {
      code: "ENOTFOUND",
      temporary,
      cause: err,
    });
  }
  if (isOsError(err)) {
    // Any other OS error still names the address, keeping the OS's code.
    return new ConnError(`${op} on ${where}: ${detail}`, { code: err.code ?? "EIO", cause: err });
  }
  return err;
}

/** Deno's DNS failure: a plain `Error` (no class of its own in Deno 2.9). */
function isLookupFailure(err: unknown): err is Error {
  return err instanceof Error && /failed to lookup address information/i.test(err.message);
}

/** One of `Deno.errors`' classes: an error from the OS, not from bad arguments. */
function isOsError(err: unknown): err is Error & { code?: string } {
  return err instanceof Error && Object.values(Deno.errors).some((cls) => err instanceof cls);
}

/** Closes a native socket or listener that may be closed already. */
export function closeQuietly(resource: { close(): void }): void {
  try {
    resource.close();
  } catch {
    // Closed already: nothing to do.
  }
}
