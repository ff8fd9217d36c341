/**
 * Telling that the isolate at the other end of a port is gone. A worker that
 * is terminated or crashes posts nothing more, and neither Deno nor Chromium
 * tells the ports it leaves behind; so each worker isolate holds a Web Lock
 * for as long as it lives, under a name it announces, and a peer that asks
 * for that lock gets it only once the isolate has ended. Where a runtime has
 * no Web Locks (Node 20), its ports fire `close` when their other end goes,
 * which `_port_conn.ts` listens for. Private to `transports/`.
 *
 * The main isolate holds no lock: a pending lock keeps Deno's event loop
 * alive, and the process ends with the main isolate anyway.
 *
 * @module
 */

import { noop } from "../_async/waiter.ts";

interface LockManagerLike {
  request(
    name: string,
    options: { signal?: AbortSignal },
    callback: () => unknown,
  ): Promise<unknown>;
}

function lockManager(): LockManagerLike | undefined {
  return (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;
}

/** Whether this code runs in a worker (a `WorkerGlobalScope`). */
export function inWorker(): boolean {
  const scope = (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope;
  return typeof scope === "function" && globalThis instanceof (scope as abstract new () => unknown);
}

let held: string | null | Promise<string | null> | undefined;

/**
 * The name of the lock this isolate holds until it ends: `null` in the main
 * isolate or without Web Locks; a promise the first time in a worker, until
 * the lock is granted (a peer must never find it free while we live).
 */
export function isolateLock(): string | null | Promise<string | null> {
  if (held !== undefined) return held;
  const locks = lockManager();
  if (locks === undefined || !inWorker()) return held = null;
  // Not crypto.randomUUID(): it exists only in secure contexts.
  const id = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0"));
  const name = `tether-isolate-${id.join("")}`;
  return held = new Promise<string | null>((resolve) => {
    locks.request(name, {}, () => {
      held = name;
      resolve(name);
      // Held until the isolate ends: that release is what peers wait for.
      return new Promise(noop);
    }).catch(() => {
      held = null;
      resolve(null);
    });
  });
}

/**
 * Calls `onGone` once the isolate holding lock `name` has ended. The
 * returned function stops watching and resolves once the lock request is
 * withdrawn, so that nothing is left pending. A lock this isolate holds
 * itself is not watched: this isolate can't outlive itself.
 */
export function watchIsolate(name: string, onGone: () => void): () => Promise<void> {
  const locks = lockManager();
  if (locks === undefined || name === held) return () => Promise.resolve();
  const controller = new AbortController();
  let watching = true;
  const request = locks.request(name, { signal: controller.signal }, () => {
    if (watching) onGone();
  }).then(noop, noop);
  return () => {
    watching = false;
    controller.abort();
    return request;
  };
}
