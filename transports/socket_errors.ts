/**
 * Turns the errors Deno's sockets throw into the contract's error classes,
 * naming the address (and, for a missing permission, the flags) in the
 * message. Internal to the socket transports.
 *
 * @module
 */

import { AddrInUseError, ConnClosedError, ConnectionRefusedError, ConnError } from "../errors.ts";

/** The Deno flags a socket address needs, for permission errors. */
export function flagsFor(where: string): string {
  if (where.startsWith("tcp:")) return `--allow-net (or --allow-net=${where.slice(4)})`;
  const path = where.slice(where.indexOf(":") + 1);
  return `--allow-read and --allow-write for ${path}, plus --allow-net (or --allow-net=unix:${path})`;
}

/**
 * Maps `err`, thrown while doing `op` (such as `"connect"`) on `where` (such
 * as `"unix:/run/app.sock"`), to a {@linkcode ConnError}. Errors that are
 * not about the socket pass through unchanged.
 */
export function socketError(err: unknown, op: string, where: string): unknown {
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
      `${op} on ${where}: ${flag ? `missing ${flag}; ` : ""}it needs ${flagsFor(where)} (${detail})`,
      { code: "ENOTCAPABLE", cause: err },
    );
  }
  return err;
}

/** Closes a native socket or listener that may be closed already. */
export function closeQuietly(resource: { close(): void }): void {
  try {
    resource.close();
  } catch {
    // Closed already: nothing to do.
  }
}
