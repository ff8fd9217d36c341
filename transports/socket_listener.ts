/**
 * A `Deno.Listener` adapted to the {@linkcode Listener} contract.
 *
 * Deno's `accept` can't be aborted, so a pump keeps one native accept
 * outstanding and hands each connection to the next `accept()` caller
 * through an {@linkcode AcceptQueue}; an aborted `accept()` loses no
 * connection. The kernel holds the backlog, so by default the pump starts
 * with the first `accept()` and holds one conn ahead at most. A transport
 * whose connect completes only once the listener admits it (the pipe
 * transport's greeting) pumps from the start instead, admitting up to its
 * `backlog` ahead of `accept()`, so a connect completes before anyone
 * accepts, as a socket's does. Internal to the socket transports.
 *
 * @module
 */

import type { Addr, CallOptions, Conn } from "../conn.ts";
import type { Dialer } from "../listener.ts";
import { AcceptQueue, ListenerBase } from "../accept_queue.ts";
import { formatAddr } from "../conn.ts";
import { SocketConn } from "./socket_conn.ts";
import { closeQuietly, socketError } from "./socket_errors.ts";

/**
 * A native accept's failure, numbered by the `accept()` calls made before
 * it: news only to those calls. One a later call finds queued (the pump
 * runs one accept ahead) is stale, and is dropped for a fresh try.
 */
interface AcceptFailure {
  readonly error: Error;
  readonly calls: number;
}

/** Turns an accepted native conn into a {@linkcode SocketConn}, or `null` to turn it away. */
export type Admit = (native: Deno.Conn) => SocketConn | null | Promise<SocketConn | null>;

/** How a {@linkcode SocketListener} runs. */
export interface SocketListenerOptions {
  /** Turns each accepted native conn into a conn, or turns it away (the listener closes it then). */
  admit: Admit;
  /**
   * Admit conns ahead of `accept()` from the start, up to this many; by
   * default none: the pump starts with the first `accept()`.
   */
  admitAhead?: number;
  /** Connects to this listener, for its `dialer()`. */
  dial: (options?: CallOptions) => Promise<Conn>;
}

/** A listener on a Unix socket, TCP port or named pipe. Made by `listen()`. */
export class SocketListener extends ListenerBase<SocketConn> {
  /** The address the listener listens on. */
  readonly addr: Addr;
  #native: Pick<Deno.Listener, "accept" | "close">;
  #admit: Admit;
  #dial: (options?: CallOptions) => Promise<Conn>;
  #queue: AcceptQueue<SocketConn | AcceptFailure>;
  #eager: boolean;
  #pumping = false;
  /** How many `accept()` calls were made. */
  #calls = 0;

  /** Adapts `native`, which it owns from now on. */
  constructor(native: Pick<Deno.Listener, "accept" | "close">, addr: Addr, options: SocketListenerOptions) {
    super();
    this.#native = native;
    this.addr = addr;
    this.#admit = options.admit;
    this.#dial = options.dial;
    this.#eager = (options.admitAhead ?? 0) > 0;
    this.#queue = new AcceptQueue({ addr: formatAddr(addr), backlog: options.admitAhead ?? 1 });
    if (this.#eager) this.#pump();
  }

  /** A dialer that connects to this listener, from this process. */
  dialer(): Dialer {
    return { dial: this.#dial };
  }

  /** Waits for the next connection; rejects with `ListenerClosedError` once closed. */
  async accept(options?: CallOptions): Promise<SocketConn> {
    const call = ++this.#calls;
    this.#pump();
    for (;;) {
      const next = await this.#queue.accept(options);
      if (next instanceof SocketConn) return next;
      // Out of descriptors a moment ago says nothing about now: only a failure since this call counts.
      if (next.calls >= call) throw next.error;
    }
  }

  /** Stops accepting; pending accepts reject, accepted conns stay open. Idempotent. */
  close(): void {
    if (this.#queue.closed) return;
    this.#queue.close((next) => next instanceof SocketConn && next.close());
    closeQuietly(this.#native);
  }

  /** Accepts natively, one at a time, handing each conn (or error) on. */
  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    const queue = this.#queue;
    while (!queue.closed) {
      if (this.#eager) await queue.room();
      if (queue.closed) break;
      let next: SocketConn | AcceptFailure | null;
      try {
        const native = await this.#native.accept();
        next = await this.#admitted(native);
      } catch (err) {
        if (queue.closed) break;
        next = { error: socketError(err, "accept", queue.addr), calls: this.#calls };
      }
      if (next === null) continue;
      if (queue.closed) {
        if (next instanceof SocketConn) next.close();
        break;
      }
      if (this.#eager && next instanceof SocketConn) {
        queue.enqueue(next);
      } else {
        // Waits until an accept takes it; on close the queue discards it.
        await queue.handOff(next).catch(() => {});
      }
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
