/**
 * A `Deno.Listener` adapted to the {@linkcode Listener} contract.
 *
 * Deno's `accept` can't be aborted, so a pump keeps one native accept
 * outstanding once the first `accept()` is called and hands each connection
 * to the next `accept()` caller through an {@linkcode AcceptQueue}; an
 * aborted `accept()` loses no connection. Internal to the socket transports.
 *
 * @module
 */

import type { Addr, CallOptions } from "../conn.ts";
import { acceptLoop, AcceptQueue, type Listener } from "../listener.ts";
import type { SocketConn } from "./socket_conn.ts";
import { closeQuietly, socketError } from "./socket_errors.ts";

/**
 * Turns an accepted native conn into a {@linkcode SocketConn}, or `null` to
 * turn it away (the listener closes it then).
 *
 * @example
 * ```ts
 * import { type Admit, SocketConn } from "@tether/tether";
 *
 * const addr = { transport: "tcp", address: "127.0.0.1:8080" } as const;
 * const admit: Admit = (native) => new SocketConn(native, { localAddr: addr, remoteAddr: addr, bufferSize: 65536 });
 * console.log(typeof admit); // "function"
 * ```
 */
export type Admit = (native: Deno.Conn) => SocketConn | null | Promise<SocketConn | null>;

/**
 * A listener on a Unix socket, TCP port or named pipe. Made by `listen()`.
 *
 * @example
 * ```ts
 * import { connect, listen } from "@tether/tether";
 *
 * await using listener = await listen({ transport: "tcp", hostname: "127.0.0.1", port: 0 });
 * const port = Number(listener.addr.address.split(":")[1]);
 * const serving = (async () => {
 *   for await (const conn of listener) conn.close(); // ends quietly on close
 * })();
 * await using conn = await connect({ transport: "tcp", hostname: "127.0.0.1", port });
 * console.log(await conn.read(new Uint8Array(1))); // null
 * listener.close();
 * await serving;
 * ```
 */
export class SocketListener implements Listener<SocketConn> {
  /** The address the listener listens on. */
  readonly addr: Addr;
  #native: Pick<Deno.Listener, "accept" | "close">;
  #admit: Admit;
  #queue: AcceptQueue<SocketConn | Error>;
  #pumping = false;
  #onClose: () => void;

  /**
   * Adapts `native`; `onClose` runs once after it is closed. With `eager`,
   * it accepts (and admits) one conn ahead of the first `accept()` call, for
   * transports whose connect completes only once admitted.
   */
  constructor(
    native: Pick<Deno.Listener, "accept" | "close">,
    addr: Addr,
    admit: Admit,
    onClose: () => void = () => {},
    eager = false,
  ) {
    this.#native = native;
    this.addr = addr;
    this.#admit = admit;
    this.#onClose = onClose;
    this.#queue = new AcceptQueue(`${addr.transport}:${addr.address}`, 1);
    if (eager) this.#pump();
  }

  /** Waits for the next connection; rejects with `ListenerClosedError` once closed. */
  async accept(options?: CallOptions): Promise<SocketConn> {
    this.#pump();
    const next = await this.#queue.accept(options);
    if (next instanceof Error) throw next;
    return next;
  }

  /** Stops accepting; pending accepts reject, accepted conns stay open. Idempotent. */
  close(): void {
    if (this.#queue.closed) return;
    this.#queue.close((next) => next instanceof Error || next.close());
    closeQuietly(this.#native);
    this.#onClose();
  }

  /** Iterates accepted conns until closed. */
  [Symbol.asyncIterator](): AsyncIterator<SocketConn> {
    return acceptLoop(this);
  }

  /** Closes the listener; `await using` calls it. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  /** Closes the listener; `using` calls it. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Accepts natively, one at a time, handing each conn (or error) to an accept. */
  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    while (!this.#queue.closed) {
      let next: SocketConn | Error | null;
      try {
        const native = await this.#native.accept();
        next = await this.#admitted(native);
      } catch (err) {
        if (this.#queue.closed) break;
        const mapped = socketError(err, "accept", this.#queue.address);
        next = mapped instanceof Error ? mapped : new Error(String(mapped));
      }
      if (next === null) continue;
      if (this.#queue.closed) {
        if (!(next instanceof Error)) next.close();
        break;
      }
      // Waits until an accept takes it; on close the queue discards it.
      await this.#queue.offer(next, undefined).catch(() => {});
    }
  }

  async #admitted(native: Deno.Conn): Promise<SocketConn | null> {
    try {
      const conn = await this.#admit(native);
      if (conn === null) closeQuietly(native);
      return conn;
    } catch (err) {
      closeQuietly(native);
      throw err;
    }
  }
}
