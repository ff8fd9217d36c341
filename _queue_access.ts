/**
 * The byte queues behind a `QueueConn` (memory pipes, `secure()`, worker
 * ports, mux streams), for code in this package that layers a protocol
 * over a conn: with the queues it can read what is there already, or write,
 * and learn at once that the call is done, without a promise hop per call,
 * and read a frame's header without taking the payload behind it. Any other
 * conn is used through its `Conn` methods. Private to the package.
 *
 * @module
 */

import type { ByteQueue } from "./byte_queue.ts";

/** The two queues of a conn: the one it reads from and the one it writes to. */
export interface ConnQueues {
  readonly inbound: ByteQueue;
  readonly outbound: ByteQueue;
}

let access: (conn: object) => ConnQueues | undefined = () => undefined;

/** Called once by `QueueConn`, which alone can see its queues. */
export function provideQueueAccess(get: (conn: object) => ConnQueues | undefined): void {
  access = get;
}

/** The queues behind `conn`, if it is a `QueueConn`. */
export function queuesOf(conn: object): ConnQueues | undefined {
  return access(conn);
}
