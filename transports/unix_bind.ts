/**
 * Binding a Unix listener's socket file: with its mode from the moment it
 * appears, replacing a stale socket file and nothing else, with exactly one
 * winner among listens racing for a path, and removed on close only while
 * it is still the listener's. Internal to the socket transports.
 *
 * Deno's `listen` creates the file under the umask (anyone the umask lets
 * in may connect before a chmod), and deletes it *by path* once the native
 * listener is dropped, which with an accept pending is after `close()`
 * returned: by then a later listener, of this process or another, may have
 * the path. So where the permissions allow it (read and write for the
 * directory and a bare `--allow-net`, see `mayBindPrivately`), the native
 * listener is bound at a private name, `s` in a fresh mode-0700 directory
 * next to the path (only this user can reach it), chmodded, then
 * hard-linked onto the path (a link fails rather than replace whatever got
 * there meanwhile), and the private name removed: Deno's late delete then
 * hits a name that is gone.
 *
 * With a narrower `--allow-net=unix:<path>` Deno lets only the path itself
 * be bound, so it is bound in place: the file has the umask's mode until the
 * chmod (unless `--allow-sys` lets the bind run under a narrowed umask), and
 * Deno deletes the path when its listener is dropped; a later listen on that
 * path in this process waits for that first.
 *
 * Taking the path, either way, is one protocol: put the socket there with a
 * call that fails rather than replace anything (`link`, or `bind` in
 * place); if something is there, probe it. Anything but a socket, or a
 * socket a listener answers on, is an `AddrInUseError` and is left alone; a
 * socket nobody answers on is stale: it is removed and the call tried once
 * more. Removing is the one step that goes wrong when listens race (one
 * removes the socket another has just put there), so the whole protocol
 * runs holding an exclusive lock on the directory (`unix_lock.ts`): from
 * the probe to the publication, no other listen touches the path. A listen
 * that can't take the lock (bound in place without `--allow-read` for the
 * directory) never removes anything: a stale socket is then an
 * `AddrInUseError` naming the flag that would let it be replaced.
 *
 * @module
 */

import { AddrInUseError } from "../errors.ts";
import { delay } from "../_async/delay.ts";
import { noop } from "../_async/waiter.ts";
import { closeQuietly, dirOf, socketError } from "./socket_errors.ts";
import { type DirTurn, takeTurn } from "./unix_lock.ts";

/**
 * The longest Unix socket path in bytes: `sun_path` less its NUL (108 bytes
 * on Linux, 104 on macOS and the BSDs). A function, so that loading this
 * module touches no `Deno` global.
 */
export function maxSocketPath(): number {
  return Deno.build.os === "linux" || Deno.build.os === "android" ? 107 : 103;
}

/**
 * What a socket listener needs of a native listener. A Unix listener's
 * `close()` also removes its socket file, first, while it is still its own.
 */
export type NativeListener = Pick<Deno.Listener, "accept" | "close">;

type Fail = (err: unknown) => Error;

/** A socket file younger than this that nobody answers on may be a listen caught between bind and listen. */
const YOUNG_MS = 1000;
/** How long to give such a socket before probing it again. */
const REPROBE_MS = 20;

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
): Promise<NativeListener> {
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
): Promise<NativeListener> {
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
  try {
    native = Deno.listen({ transport: "unix", path: privatePath });
    await Deno.chmod(privatePath, mode);
    const created = await Deno.lstat(privatePath);
    // The socket answers already: a racing listen that probes the path once it is linked sees it live.
    await takePath(path, () => Deno.link(privatePath, path), where);
    return removingOnClose(native, path, created);
  } catch (err) {
    if (native !== null) closeQuietly(native);
    throw fail(err);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(noop);
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

async function bindInPlace(path: string, mode: number, where: string, fail: Fail): Promise<NativeListener> {
  await windingDown.get(path);
  let native: Deno.UnixListener;
  try {
    native = await takePath(path, () => Promise.resolve().then(() => listenUnderUmask(path, mode)), where);
  } catch (err) {
    throw fail(err);
  }
  try {
    await Deno.chmod(path, mode);
  } catch (err) {
    native.close();
    throw fail(err);
  }
  // Deno deletes the path (by path) when it drops the native listener, and
  // only then closes the socket: it answers until its file is gone, so no
  // racing listen takes it for stale. Removing the file here first would
  // free the path while a drop that an accept holds up is still to come, and
  // that drop would then delete the next listener's file. So Deno removes it;
  // a later listen on the path in this process waits for the drop.
  const accepts = new Set<Promise<unknown>>();
  return {
    accept() {
      const accepting = native.accept();
      accepts.add(accepting);
      const settled = () => accepts.delete(accepting);
      accepting.then(settled, settled);
      return accepting;
    },
    close() {
      native.close();
      if (accepts.size === 0) return;
      const done = Promise.allSettled([...accepts]);
      windingDown.set(path, done);
      done.then(() => {
        if (windingDown.get(path) === done) windingDown.delete(path);
      });
    },
  };
}

/**
 * `native`, whose `close()` first removes the socket file at `path` if it
 * is still the file `created`, while the socket still answers: a
 * racing listen sees it live until it is gone, and never takes it for a
 * stale one it may replace.
 */
function removingOnClose(native: NativeListener, path: string, created: Deno.FileInfo): NativeListener {
  return {
    accept: () => native.accept(),
    close() {
      try {
        if (sameFile(Deno.lstatSync(path), created)) Deno.removeSync(path);
      } catch {
        // Gone already: nothing to remove.
      }
      native.close();
    },
  };
}

/**
 * Puts a socket at `path` with `put`, which fails rather than replace what
 * is there, holding this directory's turn (see the module doc). If the path
 * is taken, a stale socket file there is removed and `put` tried once more;
 * anything else is an {@linkcode AddrInUseError}.
 */
async function takePath<T>(path: string, put: () => Promise<T>, where: string): Promise<T> {
  const turn = await takeTurn(dirOf(path));
  try {
    try {
      return await put();
    } catch (err) {
      if (!isTaken(err)) throw err;
    }
    await clearStale(path, where, turn);
    try {
      return await put();
    } catch (err) {
      if (!isTaken(err)) throw err;
      throw new AddrInUseError({
        addr: where,
        cause: err,
        detail: "another program put a file there as it was cleared",
      });
    }
  } finally {
    turn.release();
  }
}

/** Whether `err` says the path is taken: `link`'s EEXIST, or `bind`'s EADDRINUSE. */
function isTaken(err: unknown): boolean {
  return err instanceof Deno.errors.AlreadyExists || err instanceof Deno.errors.AddrInUse;
}

/**
 * Removes a stale socket file at `path` (one nobody answers on), holding
 * `turn`. A live listener, or a path that is not a socket, is an
 * {@linkcode AddrInUseError} and is left alone; so is a stale socket when
 * the turn does not keep other processes out.
 */
async function clearStale(path: string, where: string, turn: DirTurn): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    throw err;
  }
  if (!info.isSocket) {
    throw new AddrInUseError({
      addr: where,
      detail: `${kindOf(info)} is at the path, not a socket, and was left untouched: ` +
        "remove it, or choose another path",
    });
  }
  const answer = await probe(path, info);
  if (answer === "gone") return;
  if (answer !== "stale") throw new AddrInUseError({ addr: where, detail: answer });
  if (!turn.exclusive) {
    throw new AddrInUseError({
      addr: where,
      detail: `a stale socket file is at the path (its listener is gone); replacing it safely ` +
        `takes a lock on ${dirOf(path)}, which needs ${turn.missing}: add that, or remove the file`,
    });
  }
  // The turn keeps other listens out; this checks for anything else that replaced the file since.
  try {
    if (!sameFile(await Deno.lstat(path), info)) {
      throw new AddrInUseError({ addr: where, detail: "another program replaced the file as it was probed" });
    }
    await Deno.remove(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

/**
 * Whether a listener answers on the socket `info` at `path`: `"stale"` if
 * none does, `"gone"` if the file went meanwhile, else why the path is in
 * use. A young socket nobody answers on may be another listen's caught
 * between `bind` and `listen` (one that does not take turns: bound in
 * place, or another program): it gets a moment, then a second probe.
 */
async function probe(path: string, info: Deno.FileInfo): Promise<"stale" | "gone" | string> {
  for (let attempt = 1;; attempt++) {
    let conn: Deno.UnixConn;
    try {
      conn = await Deno.connect({ transport: "unix", path });
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return "gone";
      if (err instanceof Deno.errors.WouldBlock) return "a live listener answered on it: its backlog is full";
      // Refused: nobody listens. Reset: the listener is closing as we probe.
      const stale = err instanceof Deno.errors.ConnectionRefused ||
        err instanceof Deno.errors.ConnectionReset;
      if (!stale) throw err;
      const age = Date.now() - (info.mtime?.getTime() ?? 0);
      if (attempt > 1 || age >= YOUNG_MS || age < 0) return "stale";
      await delay(REPROBE_MS);
      continue;
    }
    conn.close();
    return "a live listener answered on it";
  }
}

/** What kind of file `info` is, for a message: "a directory", say. */
function kindOf(info: Deno.FileInfo): string {
  if (info.isDirectory) return "a directory";
  if (info.isSymlink) return "a symbolic link";
  if (info.isFile) return "a regular file";
  if (info.isFifo) return "a FIFO";
  if (info.isCharDevice || info.isBlockDevice) return "a device";
  return "a file";
}

/**
 * Whether two looks at a path saw the same file. The inode alone won't do:
 * a file system may hand a removed file's inode number straight to the next
 * file made (ext4 does), so the times it was made and changed must match too.
 */
function sameFile(a: Deno.FileInfo, b: Deno.FileInfo): boolean {
  return a.ino === b.ino && a.dev === b.dev && a.mtime?.getTime() === b.mtime?.getTime() &&
    a.birthtime?.getTime() === b.birthtime?.getTime();
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
