/**
 * The client's keep-alive pool: idle conns reused last-in first-out, a new
 * one dialed when none is idle, and a request that met a pooled conn the
 * server had just closed sent again. Private to `http/`.
 *
 * @module
 */

import type { Conn } from "../conn.ts";
import type { Dialer } from "../listener.ts";
import { fromNodeError } from "../node/_errors.ts";
import { type Answer, ClientConn, type ConnOwner, failure, RETRY, type Sent } from "./_client_conn.ts";

export type { Answer, Sent };

/** Idle conns, reused last-in first-out, and the dialer for more. */
export class Pool implements ConnOwner {
  #dialer: Dialer;
  #signal: AbortSignal | undefined;
  #idle: ClientConn[] = [];
  #all = new Set<ClientConn>();
  #state: "open" | "closed" = "open";

  constructor(dialer: Dialer, signal: AbortSignal | undefined) {
    this.#dialer = dialer;
    this.#signal = signal;
  }

  /**
   * Sends `sent` on an idle conn or a new one, and resolves with the
   * answer once its head is in. A request that meets a pooled conn the
   * server had closed, before any answer, goes again on another conn
   * (unless its body was a stream, gone once sent: that fails).
   */
  async send(sent: Sent): Promise<Answer> {
    while (true) {
      let conn = this.#idle.pop();
      const reused = conn !== undefined;
      if (conn === undefined) {
        const signal = sent.signal && this.#signal
          ? AbortSignal.any([sent.signal, this.#signal])
          : sent.signal ?? this.#signal;
        let dialed: Conn;
        try {
          dialed = await this.#dialer.dial({ signal });
        } catch (err) {
          if (sent.signal?.aborted) throw sent.signal.reason;
          throw failure(sent.url, fromNodeError(err, "fetch", sent.url.origin));
        }
        if (this.#state === "closed") {
          dialed.close();
          throw new TypeError("this fetch was closed while it dialed");
        }
        conn = new ClientConn(dialed, this);
        this.#all.add(conn);
      }
      try {
        return await conn.send(sent, reused);
      } catch (err) {
        if (err !== RETRY) throw err;
      }
    }
  }

  /** Takes `conn` back for the next request. */
  release(conn: ClientConn): void {
    this.#idle.push(conn);
  }

  /** Forgets `conn`, which closed. */
  drop(conn: ClientConn): void {
    this.#all.delete(conn);
    const at = this.#idle.indexOf(conn);
    if (at !== -1) this.#idle.splice(at, 1);
  }

  /** Closes every conn: the requests in flight fail. */
  close(): void {
    this.#state = "closed";
    for (const conn of [...this.#all]) conn.close();
  }
}
