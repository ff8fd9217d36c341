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
  const events: EventTarget = target;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      events.removeEventListener("statuschange", listener);
      reject(new Error(`no "${status}" event within ${ms} ms (status is ${target.status})`));
    }, ms);
    const listener: EventListener = (event) => {
      if (!(event instanceof IpcStatusEvent) || event.status !== status) return;
      clearTimeout(timer);
      events.removeEventListener("statuschange", listener);
      resolve(event);
    };
    events.addEventListener("statuschange", listener);
  });
}

/** Resolves with the next `"error"` event of a server. */
export function nextError(server: Server, ms = 10_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no error event within ${ms} ms`)), ms);
    const listener: EventListener = (event) => {
      clearTimeout(timer);
      resolve((event as ErrorEvent).error);
    };
    (server as EventTarget).addEventListener("error", listener, { once: true });
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

/**
 * The size of message `i` in the big exchange: mostly up to 2 KiB, one in a
 * thousand up to 1 MiB, the first empty and two exactly 1 MiB.
 */
export function exchangeSize(i: number): number {
  if (i % 50_000 === 7) return 1 << 20;
  if (i % 1000 === 999) return (i * 7919) % (1 << 20);
  return (i * 131) % 2049;
}

/** Spawns the ipc peer fixture in another Deno process; resolves once it prints "ready". */
export async function spawnPeer(
  mode: string,
  options: Record<string, unknown>,
): Promise<{ child: Deno.ChildProcess; lines: () => Promise<string | null> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./fixtures/ipc_peer.ts", import.meta.url).pathname,
      mode,
      JSON.stringify(options),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const lines = async (): Promise<string | null> => {
    for (;;) {
      const newline = buffered.indexOf("\n");
      if (newline >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        return line;
      }
      const { value, done } = await reader.read();
      if (done) {
        const rest = buffered;
        buffered = "";
        return rest === "" ? null : rest;
      }
      buffered += value;
    }
  };
  const first = await lines();
  if (first !== "ready") throw new Error(`the ${mode} peer said ${first}, not "ready"`);
  return { child, lines };
}

/** Kills a peer (if still running) and waits for it. */
export async function stopPeer(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGKILL");
  } catch {
    // Exited already.
  }
  await child.status;
}
