/**
 * The contract of the listening side: {@linkcode Listener} and
 * {@linkcode Dialer}.
 *
 * @example Serving every connection
 * ```ts
 * import { listen } from "@tether/tether";
 *
 * const listener = listen({ transport: "memory" });
 * const serving = (async () => {
 *   for await (const conn of listener) conn.close(); // ends when closed
 * })();
 * const conn = await listener.dialer().dial();
 * console.log(await conn.read(new Uint8Array(1))); // null
 * listener.close();
 * await serving;
 * ```
 *
 * @module
 */

import type { Addr, CallOptions, Conn } from "./conn.ts";

/**
 * Accepts incoming connections. `for await` over it ends quietly when it
 * closes, and rides out temporary accept errors (out of file descriptors)
 * with a backoff; `close()` leaves accepted connections open.
 *
 * @example
 * ```ts
 * import { connect, listen } from "@tether/tether";
 *
 * await using listener = listen({ transport: "memory", name: "greeter" });
 * await using client = await connect({ transport: "memory", name: "greeter" });
 * await using server = await listener.accept({ signal: AbortSignal.timeout(1000) });
 * console.log(server.localAddr.address, client.remoteAddr.address); // greeter greeter
 * ```
 */
export interface Listener<C extends Conn = Conn> extends AsyncIterable<C>, AsyncDisposable, Disposable {
  /** The address the listener listens on. */
  readonly addr: Addr;
  /**
   * Waits for the next connection; rejects with `ListenerClosedError` once
   * closed, and with temporary errors (such as running out of file
   * descriptors) as they happen.
   */
  accept(options?: CallOptions): Promise<C>;
  /** Stops accepting; pending accepts reject, accepted conns stay open. Idempotent. */
  close(): void;
}

/**
 * Makes connections to one fixed place.
 *
 * @example
 * ```ts
 * import { type Dialer, listen } from "@tether/tether";
 *
 * async function ping(dialer: Dialer): Promise<void> {
 *   await using conn = await dialer.dial({ signal: AbortSignal.timeout(1000) });
 *   await conn.write(new Uint8Array([1]));
 * }
 * await using listener = listen({ transport: "memory" });
 * await ping(listener.dialer()); // completes from the backlog, before accept()
 * await using conn = await listener.accept();
 * console.log(await conn.read(new Uint8Array(1))); // 1
 * ```
 */
export interface Dialer {
  /** Connects; honours its signal. */
  dial(options?: CallOptions): Promise<Conn>;
}
