/**
 * The accept side of a listener that has no kernel under it:
 * {@linkcode AcceptQueue}, a bounded backlog of connections waiting to be
 * accepted and of accept calls waiting for one; and {@linkcode acceptLoop},
 * the `for await` every listener shares.
 *
 * @example
 * ```ts
 * import { AcceptQueue } from "@tether/tether/transport";
 *
 * const queue = new AcceptQueue<string>({ addr: "memory:demo", backlog: 1 });
 * queue.enqueue("conn"); // a connect completes from the backlog
 * console.log(await queue.accept()); // "conn"
 * ```
 *
 * @module
 */

import type { Addr, CallOptions, Conn } from "./conn.ts";
import type { Listener } from "./listener.ts";
import { abortError, BacklogFullError, ConnError, ListenerClosedError } from "./errors.ts";
import { delay } from "./_async/delay.ts";
import { Fifo } from "./_async/fifo.ts";
import { WaitQueue } from "./_async/wait_queue.ts";
import { noop, type Waiter, waiter } from "./_async/waiter.ts";
import { refusal } from "./_validate.ts";

/**
 * Options of an {@linkcode AcceptQueue}.
 *
 * @example
 * ```ts
 * import { AcceptQueue, type AcceptQueueOptions } from "@tether/tether/transport";
 *
 * const options: AcceptQueueOptions = { addr: "custom:jobs", backlog: 8 };
 * const queue = new AcceptQueue<object>(options);
 * console.log(queue.backlog); // 8
 * ```
 */
export interface AcceptQueueOptions {
  /** The listener's address (`transport:address`), named in errors. */
  addr: string;
  /** How many connections may wait unaccepted; default 32. */
  backlog?: number;
}

interface Queued<C> {
  conn: C;
  /** For a hand-off: settles once an accept takes the conn, or the listener closes. */
  taken: Waiter<void> | null;
}

/**
 * Connections waiting to be accepted, and accepts waiting for a connection.
 *
 * A connect completes as soon as its conn is in the backlog
 * ({@linkcode AcceptQueue.enqueue}), as a kernel does for sockets: the
 * dialer may write at once, and `accept()` takes it later. A pump that
 * accepts from somewhere else hands each conn over with
 * {@linkcode AcceptQueue.handOff}, which waits until it is taken.
 *
 * @example
 * ```ts
 * import { AcceptQueue } from "@tether/tether/transport";
 *
 * const queue = new AcceptQueue<string>({ addr: "custom:x", backlog: 1 });
 * queue.enqueue("first");
 * try {
 *   queue.enqueue("second");
 * } catch (err) {
 *   console.log((err as Error).name); // "BacklogFullError"
 * }
 * ```
 */
export class AcceptQueue<C> {
  /** The address named in errors. */
  readonly addr: string;
  /** How many connections may wait unaccepted. */
  readonly backlog: number;
  #queued = new Fifo<Queued<C>>();
  #accepts = new WaitQueue<C>();
  #room = new WaitQueue<void>();
  #state: "open" | "closed" = "open";
  #discard: (conn: C) => void = noop;

  /** Makes the queue of the listener at `options.addr`. */
  constructor(options: AcceptQueueOptions) {
    this.addr = options.addr;
    this.backlog = options.backlog ?? 32;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#state === "closed";
  }

  /** How many connections wait unaccepted. */
  get waiting(): number {
    return this.#queued.length;
  }

  /**
   * Puts `conn` in the backlog, or hands it straight to a waiting accept.
   * Throws `ListenerClosedError` once closed, `BacklogFullError` when
   * `backlog` connections already wait.
   */
  enqueue(conn: C): void {
    if (this.#state === "closed") throw new ListenerClosedError({ op: "connect", addr: this.addr });
    if (this.#accepts.resolveNext(conn)) return;
    if (this.#queued.length >= this.backlog) {
      throw new BacklogFullError({ addr: this.addr, backlog: this.backlog });
    }
    this.#queued.push({ conn, taken: null });
  }

  /**
   * Hands `conn` to the next accept, resolving once one took it; rejects
   * with `ListenerClosedError` if the listener closes first (the conn is then
   * discarded). Not bounded by the backlog: for pumps that hold one at a time.
   */
  handOff(conn: C): Promise<void> {
    if (this.#state === "closed") {
      this.#discard(conn);
      return Promise.reject(new ListenerClosedError({ addr: this.addr }));
    }
    if (this.#accepts.resolveNext(conn)) return Promise.resolve();
    const taken = waiter<void>();
    this.#queued.push({ conn, taken });
    return taken.promise;
  }

  /** Resolves once the backlog has room (or the queue closed): for pumps that admit ahead of accept. */
  room(): Promise<void> {
    if (this.#state === "closed" || this.#queued.length < this.backlog) return Promise.resolve();
    return this.#room.wait(undefined);
  }

  /**
   * Takes the next connection, waiting for one within the signal. Rejects
   * with `ListenerClosedError` once closed and the backlog is empty, and
   * with a `ConnError` naming the accept when the signal aborts.
   */
  accept(options?: CallOptions): Promise<C> {
    const refused = refusal(options, { op: "accept", addr: this.addr });
    if (refused !== undefined) return Promise.reject(refused);
    if (this.#queued.length > 0) {
      const { conn, taken } = this.#queued.shift();
      taken?.resolve();
      this.#room.resolveNext();
      return Promise.resolve(conn);
    }
    if (this.#state === "closed") return Promise.reject(new ListenerClosedError({ addr: this.addr }));
    return this.#accepts.wait(
      undefined,
      options?.signal,
      (reason) => abortError(reason, { op: "accept", addr: this.addr }),
    );
  }

  /**
   * Closes: pending accepts reject with `ListenerClosedError`, and the
   * connections still in the backlog go to `discard`, which should close
   * them: their dialers then see the peer close, as a socket's do.
   */
  close(discard: (conn: C) => void = noop): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.#discard = discard;
    this.#accepts.rejectAll(new ListenerClosedError({ addr: this.addr }));
    for (const { conn, taken } of this.#queued.removeFrom(0)) {
      taken?.reject(new ListenerClosedError({ addr: this.addr }));
      discard(conn);
    }
    for (const w of this.#room.drain()) w.resolve();
  }
}

/** The first pause after a temporary accept error, as in Go's `net/http`. */
const FIRST_BACKOFF_MS = 5;
/** The longest pause, reached by doubling. */
const MAX_BACKOFF_MS = 1000;

/**
 * Iterates a listener's accepts until it is closed, ending quietly then.
 * A temporary error (a `ConnError` with `temporary: true`, such as running
 * out of file descriptors) does not end it: it waits 5 ms, doubling up to
 * 1 s while the errors go on, and accepts again, as Go's `net/http` does.
 * Any other error ends it by throwing.
 *
 * @example
 * ```ts
 * import { acceptLoop } from "@tether/tether/transport";
 * import { listen } from "@tether/tether";
 *
 * const listener = listen({ transport: "memory" });
 * listener.close();
 * for await (const _ of acceptLoop(listener)) throw new Error("unreachable");
 * console.log("done");
 * ```
 */
export async function* acceptLoop<C extends Conn>(listener: Listener<C>): AsyncGenerator<C, void, undefined> {
  let backoff = 0;
  while (true) {
    let conn: C;
    try {
      conn = await listener.accept();
    } catch (err) {
      if (err instanceof ListenerClosedError) return;
      if (!(err instanceof ConnError && err.temporary)) throw err;
      backoff = backoff === 0 ? FIRST_BACKOFF_MS : Math.min(backoff * 2, MAX_BACKOFF_MS);
      await delay(backoff);
      continue;
    }
    backoff = 0;
    yield conn;
  }
}

/**
 * What every listener shares, for a listener class to extend: `for await`
 * over it is {@linkcode acceptLoop} over its `accept()`, and disposing of it
 * is `close()`. A subclass gives `addr`, `accept` and `close`.
 *
 * @example
 * ```ts
 * import { AcceptQueue, ListenerBase } from "@tether/tether/transport";
 * import { type Addr, type CallOptions, type Conn, pipe } from "@tether/tether";
 *
 * class LoopbackListener extends ListenerBase<Conn> {
 *   readonly addr: Addr = { transport: "loopback", address: "here" };
 *   readonly queue = new AcceptQueue<Conn>({ addr: "loopback:here" });
 *   accept(options?: CallOptions): Promise<Conn> {
 *     return this.queue.accept(options);
 *   }
 *   close(): void {
 *     this.queue.close((conn) => conn.close());
 *   }
 * }
 * await using listener = new LoopbackListener();
 * const [client, server] = pipe();
 * listener.queue.enqueue(server);
 * for await (const conn of listener) {
 *   console.log(conn === server); // true
 *   break;
 * }
 * client.close();
 * ```
 */
export abstract class ListenerBase<C extends Conn> implements Listener<C> {
  /** The address the listener listens on. */
  abstract readonly addr: Addr;
  /** Waits for the next connection. */
  abstract accept(options?: CallOptions): Promise<C>;
  /** Stops accepting; idempotent. */
  abstract close(): void;

  /** Iterates accepted conns until closed, riding out temporary errors. */
  [Symbol.asyncIterator](): AsyncIterator<C> {
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
}
