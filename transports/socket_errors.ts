/**
 * Turns the errors Deno's sockets throw into the contract's error classes,
 * naming the operation and the address (and, for a missing permission, the
 * flags). Internal to the socket transports.
 *
 * @module
 */

import {
  AddrInUseError,
  BacklogFullError,
  ConnClosedError,
  ConnectionRefusedError,
  ConnError,
  type ErrorContext,
} from "../errors.ts";

/**
 * OS codes for running short of a resource: the same call can succeed once
 * some is freed (another conn closes), so they are temporary.
 */
const RESOURCE_CODES = new Set(["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM", "EAGAIN", "EINTR", "ECONNABORTED"]);

/**
 * The Deno flags `op` on `addr` needs, for permission errors. `socketPath`
 * is the Unix socket file behind the address, when `addr` does not name it
 * (a pipe's does not).
 */
export function flagsFor(addr: string, op: string, socketPath?: string): string {
  if (addr.startsWith("tcp:")) return `--allow-net (or --allow-net=${addr.slice(4)})`;
  const path = socketPath ?? addr.slice(addr.indexOf(":") + 1);
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
 * Maps `err`, thrown while doing `op` (such as `"connect"`) on `addr` (such
 * as `"unix:/run/app.sock"`), to a {@linkcode ConnError}; `socketPath` is
 * the socket file behind `addr`, when `addr` does not name it. Errors that
 * are not about the socket (bad arguments, say) come back as they are.
 */
export function socketError(err: unknown, op: string, addr: string, socketPath?: string): Error {
  if (err instanceof ConnError) return err;
  if (!(err instanceof Error)) return new Error(String(err));
  const context: ErrorContext = { op, addr, cause: err, detail: err.message };
  const code = (err as { code?: unknown }).code;
  if (err instanceof Deno.errors.ConnectionRefused) {
    return new ConnectionRefusedError({ op, addr, cause: err });
  }
  if (err instanceof Deno.errors.NotFound && op === "listen") {
    // The OS's message names the private name listen binds first, which would only puzzle.
    const path = socketPath ?? addr.replace(/^unix:/, "");
    const dir = dirOf(path);
    return new ConnError({
      op,
      addr,
      cause: err,
      code: "ENOENT",
      summary: `the directory ${dir} does not exist: create it first`,
    });
  }
  if (err instanceof Deno.errors.NotFound) {
    return new ConnectionRefusedError({ op, addr, cause: err, detail: "no socket file at that path" });
  }
  if (err instanceof Deno.errors.AddrInUse) return new AddrInUseError({ op, addr, cause: err });
  if (err instanceof Deno.errors.WouldBlock && op !== "accept") {
    // A Unix socket's connect says EAGAIN when the listener's backlog is full.
    return new BacklogFullError({ op, addr, cause: err });
  }
  if (
    err instanceof Deno.errors.BrokenPipe || err instanceof Deno.errors.ConnectionReset ||
    (err instanceof Deno.errors.ConnectionAborted && op !== "accept") ||
    err instanceof Deno.errors.NotConnected || err instanceof Deno.errors.BadResource ||
    (err instanceof Deno.errors.Interrupted && op !== "accept")
  ) {
    return new ConnClosedError(context);
  }
  if (err instanceof Deno.errors.PermissionDenied) {
    return new ConnError({ ...context, code: "EACCES", summary: "permission denied" });
  }
  if (err instanceof Deno.errors.NotCapable) {
    const flag = /--allow-[a-z]+/.exec(err.message)?.[0];
    return new ConnError({
      ...context,
      code: "ENOTCAPABLE",
      summary: `${flag ? `missing ${flag}; ` : ""}it needs ${flagsFor(addr, op, socketPath)}`,
    });
  }
  if (err instanceof Deno.errors.NotADirectory) {
    return new ConnError({ ...context, code: "ENOTDIR", summary: "a parent of the path is not a directory" });
  }
  if (isLookupFailure(err)) {
    return new ConnError({
      ...context,
      code: "ENOTFOUND",
      summary: "cannot resolve the host name",
      temporary: /temporary/i.test(err.message),
    });
  }
  const resource = resourceCode(err);
  if (resource !== undefined) {
    return new ConnError({
      ...context,
      code: resource,
      summary: resource === "EMFILE" || resource === "ENFILE"
        ? "out of file descriptors; retry once some conns close"
        : "temporarily out of resources; retry later",
      temporary: true,
    });
  }
  if (typeof code === "string" || isOsError(err)) {
    // Any other OS error still names the address, keeping the OS's code.
    return new ConnError({ ...context, code: typeof code === "string" ? code : "EIO", summary: "failed" });
  }
  return err;
}

/** The code of a resource-shortage error, by its code or its message. */
function resourceCode(err: Error): string | undefined {
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" && RESOURCE_CODES.has(code)) return code;
  if (/too many open files/i.test(err.message)) return "EMFILE";
  if (err instanceof Deno.errors.WouldBlock) return "EAGAIN";
  if (err instanceof Deno.errors.Interrupted) return "EINTR";
  if (err instanceof Deno.errors.ConnectionAborted) return "ECONNABORTED";
  return undefined;
}

/** Deno's DNS failure: a plain `Error` (no class of its own in Deno 2.9). */
function isLookupFailure(err: Error): boolean {
  return /failed to lookup address information/i.test(err.message);
}

/** One of `Deno.errors`' classes: an error from the OS, not from bad arguments. */
function isOsError(err: Error): boolean {
  return Object.values(Deno.errors).some((cls) => err instanceof cls);
}

/** Closes a native socket or listener that may be closed already. */
export function closeQuietly(resource: { close(): void }): void {
  try {
    resource.close();
  } catch {
    // Closed already: nothing to do.
  }
}
