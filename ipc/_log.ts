/**
 * Lifecycle logging for `ipc/`, to stderr, off by default:
 * `TETHER_DEBUG=debug|info|warn|error` turns it on from that level up (the
 * seed's `GIPC_DEBUG`). It never logs message contents. Private to `ipc/`.
 *
 * @module
 */

/** The levels, lowest first. */
const LEVELS = ["debug", "info", "warn", "error"] as const;

/** A log level. */
export type LogLevel = typeof LEVELS[number];

let threshold: number | undefined;

/**
 * The level set in `TETHER_DEBUG`, read once; without `--allow-env` for it,
 * or outside Deno, logging stays off (never a permission prompt).
 */
function level(): number {
  if (threshold !== undefined) return threshold;
  threshold = LEVELS.length;
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  try {
    if (deno?.permissions.querySync({ name: "env", variable: "TETHER_DEBUG" }).state === "granted") {
      const value = deno.env.get("TETHER_DEBUG")?.trim().toLowerCase();
      const index = LEVELS.indexOf(value as LogLevel);
      if (index >= 0) threshold = index;
      else if (value === "1" || value === "true") threshold = 0;
    }
  } catch {
    // No permission API: stay quiet.
  }
  return threshold;
}

/** Whether `at` is logged; lets callers skip building a message. */
export function logs(at: LogLevel): boolean {
  return LEVELS.indexOf(at) >= level();
}

/** Logs one line about `who` (a server or client and its address) at `at`. */
export function log(at: LogLevel, who: string, text: string): void {
  if (!logs(at)) return;
  console.error(`[tether ipc] ${new Date().toISOString()} ${at} ${who}: ${text}`);
}

/** Test only: forgets the level read, so the next call reads it again. */
export function resetLogLevel(): void {
  threshold = undefined;
}
