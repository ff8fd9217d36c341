/**
 * Ending a mux session politely. Private to netchan.
 *
 * @module
 */

import type { Session } from "../mux/mod.ts";
import { delay } from "../_async/delay.ts";
import { noop } from "../_async/waiter.ts";

/** How long the HANGUPs of a closing endpoint may take to go out. */
export const CLOSE_GRACE_MS = 1000;

/**
 * Closes `session` once `streams` have closed (their HANGUPs sent and
 * answered), or after {@linkcode CLOSE_GRACE_MS} if the peer is slow to
 * answer or the conn is stuck.
 */
export function closeWhenDone(session: Session, streams: Promise<void>[]): Promise<void> {
  if (streams.length === 0) {
    session.close();
    return session.closed;
  }
  const done = new AbortController();
  const grace = delay(CLOSE_GRACE_MS, done.signal).catch(noop);
  return Promise.race([Promise.all(streams), grace]).then(() => {
    done.abort();
    session.close();
    return session.closed;
  });
}
