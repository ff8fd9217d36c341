/**
 * Binding a Unix listener's socket file: with its mode from the moment it
 * appears, replacing a stale file, never anything else, and removed on
 * close only while it is still the listener's. Internal to the socket
 * transports.
 *
 * Deno's `listen` creates the file under the umask (anyone the umask lets
 * in may connect before a chmod), and deletes it *by path* once the native
 * listener is dropped, which with an accept pending is after `close()`
 * returned: by then a later listener, of this process or another, may have
 * the path. So where the permissions allow it (read and write for the
 * directory and a bare `--allow-net`, see `mayBindPrivately`),
 * the native listener is bound at a private name, `s` in a fresh mode-0700
 * directory next to the path (only this user can reach it), chmodded, then
 * hard-linked onto the path (a link fails rather than replace whatever got
 * there meanwhile), and the private name removed: Deno's late delete then
 * hits a name that is gone.
 *
 * With a narrower `--allow-net=unix:<path>` Deno lets only the path itself
 * be bound, so it is bound in place: the file has the umask's mode until the
 * chmod (unless `--allow-sys` lets the bind run under a narrowed
 * umask), and Deno deletes the path when its listener is dropped; a later
 * listen on that path in this process waits for that first.
 *
 * @module
 */

import { AddrInUseError } from "../errors.ts";
import { noop } from "../_async/waiter.ts";
import { closeQuietly, socketError } from "./socket_errors.ts";

/**
 * The longest Unix socket path in bytes: `sun_path` less its NUL (108 bytes
 * on Linux, 104 on macOS and the BSDs). A function, so that loading this
 * module touches no `Deno` global.
 */
export function maxSocketPath(): number {
  return Deno.build.os === "linux" || Deno.build.os === "android" ? 107 : 103;
}

/** What a socket listener needs of a native listener. */
export type NativeListener = Pick<Deno.Listener, "accept" | "close">;

/** A bound Unix listener and how to remove its socket file. */
export interface UnixBinding {
  /** The native listener. */
  native: NativeListener;
  /** Removes the socket file if it is still this listener's; call after closing `native`. */
  removeFile: () => void;
}

type Fail = (err: unknown) => Error;

/** How many times a listen tries to link its socket onto a path that keeps getting taken. */
const PUBLISH_ATTEMPTS = 3;

/** Paths bound in place whose dropped native listener has yet to delete the file. */
const windingDown = new Map<string, Promise<unknown>>();

/**
 * Listens natively on the Unix socket `path`, whose file gets `mode`.
 * Errors name `where`; `socketPath` stands for `path` in the advice on
 * missing flags.
 */
export async function openUnixListener(
  path: string,
  mode: number,
  where: string,
  socketPath: string = path,
): Promise<UnixBinding> {
  const fail: Fail = (err) => socketError(err, "listen", where, socketPath);
  const privateDir = privateDirName(path);
  if (privateDir !== null && mayBindPrivately(privateDir)) {
    return await bindPrivately(path, privateDir, mode, where, fail);
  }
  return await bindInPlace(path, mode, where, fail);
}

/**
 * Whether this process may bind a socket at the private name in `dir`
 * without a prompt: read and write there, and the net permission for it,
 * which only a bare `--allow-net` grants.
 */
export function mayBindPrivately(dir: string): boolean {
  const path = `${dir}/s`;
  const granted = (descriptor: Deno.PermissionDescriptor) =>
    Deno.permissions.querySync(descriptor).state === "granted";
  return granted({ name: "read", path }) && granted({ name: "write", path }) &&
    granted({ name: "net", host: `unix:${path}` });
}

/**
 * A fresh private directory name next to `path`, short enough that `s`
 * inside it fits `maxSocketPath()`; `null` if none is.
 */
function privateDirName(path: string): string | null {
  const prefix = path.slice(0, path.lastIndexOf("/") + 1); // "" for a bare name: the cwd
  const room = maxSocketPath() - byteLength(prefix) - "./s".length;
  if (room < 1) return null;
  // Named for what left it, should a crash leave it behind.
  return `${prefix}.${room >= 15 ? `tether-${randomName(8)}` : randomName(Math.min(room, 12))}`;
}

async function bindPrivately(
  path: string,
  firstDir: string,
  mode: number,
  where: string,
  fail: Fail,
): Promise<UnixBinding> {
  let dir = firstDir;
  for (;;) {
    try {
      await Deno.mkdir(dir, { mode: 0o700 });
      break;
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw fail(err);
      dir = privateDirName(path)!;
    }
  }
  const privatePath = `${dir}/s`;
  let native: Deno.UnixListener | null = null;
  let created: Deno.FileInfo;
  try {
    native = Deno.listen({ transport: "unix", path: privatePath });
    await Deno.chmod(privatePath, mode);
    created = await Deno.lstat(privatePath);
    await publish(privatePath, path, where, fail, dir);
  } catch (err) {
    if (native !== null) closeQuietly(native);
    throw fail(err);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(noop);
  }
  return { native, removeFile: () => removeIfStill(path, created) };
}

/**
 * Links the socket at `from` onto `path`. Something already at `path` is
 * never replaced: a stale socket file is removed first, anything else is an
 * {@linkcode AddrInUseError}.
 */
async function publish(from: string, path: string, where: string, fail: Fail, dir: string): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      return await Deno.link(from, path);
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw fail(err);
      if (attempt === PUBLISH_ATTEMPTS) {
        throw new AddrInUseError({
          addr: where,
          cause: err,
          detail: "the path keeps being taken as it is cleared",
        });
      }
    }
    await clearStale(path, where, fail, dir);
  }
}

/**
 * Binds `path` in place. Where `--allow-sys` is granted, the umask is
 * narrowed to `mode` for the synchronous bind, so the file never exists with
 * wider rights; otherwise it has the umask's mode until the chmod that follows.
 */
function listenUnderUmask(path: string, mode: number): Deno.UnixListener {
  if (Deno.permissions.querySync({ name: "sys", kind: "umask" }).state !== "granted") {
    return Deno.listen({ transport: "unix", path });
  }
  const previous = Deno.umask(~mode & 0o777);
  try {
    return Deno.listen({ transport: "unix", path });
  } finally {
    Deno.umask(previous);
  }
}

async function bindInPlace(path: string, mode: number, where: string, fail: Fail): Promise<UnixBinding> {
  await windingDown.get(path);
  await clearStale(path, where, fail);
  let native: Deno.UnixListener;
  try {
    native = listenUnderUmask(path, mode);
  } catch (err) {
    throw fail(err);
  }
  let created: Deno.FileInfo;
  try {
    await Deno.chmod(path, mode);
    created = await Deno.lstat(path);
  } catch (err) {
    native.close();
    throw fail(err);
  }
  // Deno deletes the path once no accept holds the native listener: track them.
  const accepts = new Set<Promise<unknown>>();
  const tracked: NativeListener = {
    accept() {
      const accepting = native.accept();
      accepts.add(accepting);
      const settled = () => accepts.delete(accepting);
      accepting.then(settled, settled);
      return accepting;
    },
    close: () => native.close(),
  };
  const removeFile = () => {
    removeIfStill(path, created);
    if (accepts.size === 0) return;
    const done = Promise.allSettled([...accepts]);
    windingDown.set(path, done);
    done.then(() => {
      if (windingDown.get(path) === done) windingDown.delete(path);
    });
  };
  return { native: tracked, removeFile };
}

/** Removes `path` if it is still the file `created` (same inode). */
function removeIfStill(path: string, created: Deno.FileInfo): void {
  try {
    const now = Deno.lstatSync(path);
    if (now.ino === created.ino && now.dev === created.dev) Deno.removeSync(path);
  } catch {
    // Gone already: nothing to remove.
  }
}

/**
 * Removes a stale socket file at `path` (one nobody answers on). A live
 * listener, or a path that is not a socket, is an {@linkcode AddrInUseError}
 * and is left alone.
 */
async function clearStale(path: string, where: string, fail: Fail, privateDir?: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    throw fail(err);
  }
  if (!info.isSocket) {
    throw new AddrInUseError({
      addr: where,
      detail:
        "the path exists and is not a socket, and was left untouched: remove it, or choose another path",
    });
  }
  let probe: Deno.UnixConn;
  try {
    probe = await Deno.connect({ transport: "unix", path });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    if (err instanceof Deno.errors.WouldBlock) {
      throw new AddrInUseError({
        addr: where,
        cause: err,
        detail: "a live listener answered: its backlog is full",
      });
    }
    // Refused: nobody listens. Reset: the listener is closing as we probe.
    const stale = err instanceof Deno.errors.ConnectionRefused || err instanceof Deno.errors.ConnectionReset;
    if (!stale) throw fail(err);
    await removeStale(path, info, where, fail, privateDir);
    return;
  }
  probe.close();
  throw new AddrInUseError({ addr: where, detail: "a live listener answered on it" });
}

/**
 * Removes the stale socket file `probed` at `path`, and only that file: a
 * listener may have put its own there since the probe. With a private
 * directory the file is first moved into it, which is atomic, and checked
 * there; without one, it is checked just before it is removed.
 */
async function removeStale(
  path: string,
  probed: Deno.FileInfo,
  where: string,
  fail: Fail,
  privateDir: string | undefined,
): Promise<void> {
  const same = (info: Deno.FileInfo) => info.ino === probed.ino && info.dev === probed.dev;
  const taken = () =>
    new AddrInUseError({ addr: where, detail: "another listener took the path as it was cleared" });
  try {
    if (privateDir === undefined) {
      if (!same(await Deno.lstat(path))) throw taken();
      await Deno.remove(path);
      return;
    }
    const moved = `${privateDir}/stale`;
    await Deno.rename(path, moved);
    if (same(await Deno.lstat(moved))) return await Deno.remove(moved);
    // Someone else's live socket: put it back where it was.
    await Deno.link(moved, path);
    await Deno.remove(moved);
    throw taken();
  } catch (err) {
    if (err instanceof AddrInUseError) throw err;
    if (!(err instanceof Deno.errors.NotFound)) throw fail(err);
  }
}

/** `length` random characters from `[0-9a-z]`. */
function randomName(length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (b) => (b % 36).toString(36)).join("");
}

/** The UTF-8 length of `text`, as the kernel counts a path. */
export function byteLength(text: string): number {
  return new TextEncoder().encode(text).byteLength;
}
