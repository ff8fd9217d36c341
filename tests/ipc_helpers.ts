// Shared by the ipc tests: unique server names, waiting for a status, and
// a close that waits for everything to settle.
import { type Client, type IpcStatus, IpcStatusEvent, type Server } from "../ipc/mod.ts";

export const encoder = new TextEncoder();
export const decoder = new TextDecoder();

/** A server name no other test (or colleague's test run) uses. */
export function uniqueName(prefix = "t"): string {
  return `tether-${prefix}-${crypto.randomUUID().slice(0, 12)}`;
}

/** Resolves with the first `statuschange` event with `status`; rejects after `ms`. */
export function nextStatus(
  target: Client | Server,
  status: IpcStatus,
  ms = 10_000,
): Promise<IpcStatusEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      target.removeEventListener("statuschange", listener);
      reject(new Error(`no "${status}" event within ${ms} ms (status is ${target.status})`));
    }, ms);
    const listener = (event: Event) => {
      if (!(event instanceof IpcStatusEvent) || event.status !== status) return;
      clearTimeout(timer);
      target.removeEventListener("statuschange", listener);
      resolve(event);
    };
    target.addEventListener("statuschange", listener);
  });
}

/** Resolves with the next `"error"` event of a server. */
export function nextError(server: Server, ms = 10_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no error event within ${ms} ms`)), ms);
    server.addEventListener("error", (event) => {
      clearTimeout(timer);
      resolve((event as ErrorEvent).error);
    }, { once: true });
  });
}

/** Deterministic bytes for message `i` of `size`, so a swap or corruption shows. */
export function payload(i: number, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = (i * 2654435761) >>> 0;
  for (let k = 0; k < size; k++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[k] = x >>> 24;
  }
  return bytes;
}

/** Whether two byte arrays are equal. */
export function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The outcome of `p`: its value, or the error it rejected with. */
export function settle<T>(p: Promise<T>): Promise<{ value: T } | { error: unknown }> {
  return p.then((value) => ({ value }), (error) => ({ error }));
}
