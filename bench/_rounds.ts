/** What the paired-rounds scripts (`*_rounds.ts`) share. */

import { type Conn, connect, listen } from "../mod.ts";

/** The median and the quartiles of `xs`. */
export function spread(xs: number[]): [number, number, number] {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return [at(0.5), at(0.25), at(0.75)];
}

/** A Unix socket listener in a temp dir, and pairs of conns over it; `close()` removes both. */
export async function unixPairs(): Promise<{ pair(): Promise<[Conn, Conn]>; close(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "tether-rounds-" });
  const path = `${dir}/rounds.sock`;
  const listener = await listen({ transport: "unix", path });
  return {
    async pair() {
      const dialing = connect({ transport: "unix", path });
      const accepted = await listener.accept();
      return [await dialing, accepted];
    },
    async close() {
      listener.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/**
 * Runs every case once to warm up, then `rounds` rounds of every case in
 * turn, and returns each case's times (in milliseconds), round by round.
 */
export async function timeRounds(
  cases: Record<string, () => Promise<unknown>>,
  rounds: number,
): Promise<Record<string, number[]>> {
  const times: Record<string, number[]> = {};
  for (const fn of Object.values(cases)) await fn();
  for (let r = 0; r < rounds; r++) {
    for (const [name, fn] of Object.entries(cases)) {
      const t0 = performance.now();
      await fn();
      (times[name] ??= []).push(performance.now() - t0);
    }
  }
  return times;
}
