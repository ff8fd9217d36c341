/**
 * Mutual exclusion among `listen()` calls that take over a Unix socket
 * path: an exclusive `flock` on the directory that holds the path, taken
 * while a call probes, clears and publishes the path, and let go at once.
 * Internal to the socket transports.
 *
 * Why the directory: a lock file of its own would need write access to the
 * directory, which a listener bound in place may not have, and would be left
 * behind by a crash; an open directory needs only read access, and the
 * kernel drops the lock when its holder exits, however it exits. `flock`
 * locks belong to the open file description, so two calls in one process
 * exclude each other as two processes do; calls in one process still queue
 * here first, so that only one of them at a time holds a thread blocked in
 * `flock`.
 *
 * @module
 */

import { OrderedLock } from "../_async/ordered_lock.ts";
import { noop } from "../_async/waiter.ts";

/**
 * The turn of a call that may take over a socket path in a directory.
 * `exclusive` says whether other processes are kept out too; where they are
 * not, `missing` says what it would take.
 */
export type DirTurn =
  & { release(): void }
  & ({ readonly exclusive: true } | { readonly exclusive: false; readonly missing: string });

/** Calls of this process queued per directory, and how many use each queue. */
const queues = new Map<string, { lock: OrderedLock; users: number }>();

/**
 * Waits for this call's turn at `dir`: first among calls of this process,
 * then, where `--allow-read` for `dir` is granted and the directory can be
 * opened, among processes (an exclusive `flock`). `release()` must follow,
 * once. Errors other than a refused permission (out of file descriptors,
 * say) are thrown.
 */
export async function takeTurn(dir: string): Promise<DirTurn> {
  const queue = queues.get(dir) ?? { lock: new OrderedLock(), users: 0 };
  queues.set(dir, queue);
  queue.users++;
  await queue.lock.acquire();
  const leave = () => {
    queue.lock.release();
    if (--queue.users === 0) queues.delete(dir);
  };
  let file: Deno.FsFile | null = null;
  try {
    if (Deno.permissions.querySync({ name: "read", path: dir }).state !== "granted") {
      leave();
      return { exclusive: false, missing: `--allow-read=${dir}`, release: noop };
    }
    file = await Deno.open(dir, { read: true });
    await file.lock(true);
  } catch (err) {
    file?.close();
    leave();
    if (err instanceof Deno.errors.PermissionDenied || err instanceof Deno.errors.NotCapable) {
      return { exclusive: false, missing: `read access to ${dir} (${err.message})`, release: noop };
    }
    throw err;
  }
  const held = file;
  let released = false;
  return {
    exclusive: true,
    release() {
      if (released) return;
      released = true;
      held.close(); // drops the flock
      leave();
    },
  };
}
