/**
 * Giving a writer that runs ahead a moment to write more, so that its small
 * writes leave together: one post, one record, one frame. Private to the
 * package.
 *
 * A writer that awaits each `write` comes back a microtask turn or three
 * after each one; a pump that sends at once sends one small piece per write,
 * each paying the whole cost of a post or a record. So a pump that finds a
 * little queued, while nothing has come from the peer since it last sent
 * (a reply would mean a conversation, where waiting only adds latency),
 * waits microtask turns (never a timer) while the queue keeps growing.
 *
 * @module
 */

/** How long {@linkcode gather} waits. */
export interface GatherLimits {
  /** Stop once this much is queued. */
  readonly enough: number;
  /** Stop after this many turns in a row with nothing added. */
  readonly quietTurns: number;
  /** Stop after this many turns in all. */
  readonly maxTurns: number;
}

/** The limits the conns use: 16 KiB, 8 quiet turns, 256 turns in all. */
export const GATHER: GatherLimits = { enough: 16 * 1024, quietTurns: 8, maxTurns: 256 };

/**
 * Waits microtask turns while `queued()` keeps growing, up to the limits;
 * resolves with what is queued then.
 */
export async function gather(queued: () => number, limits: GatherLimits = GATHER): Promise<number> {
  let seen = queued();
  for (
    let turn = 0, quiet = 0;
    turn < limits.maxTurns && quiet < limits.quietTurns && seen < limits.enough;
    turn++
  ) {
    await undefined;
    const now = queued();
    if (now > seen) {
      seen = now;
      quiet = 0;
    } else {
      quiet++;
    }
  }
  return seen;
}
