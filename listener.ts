/**
 * Listeners and dialers, and the accept queue the in-process transports
 * share: a bounded backlog of connects waiting to be accepted, accept calls
 * with deadlines, and close.
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

import { type Addr, badSignal, type CallOptions, type Conn, noop, watch } from "./conn.ts";
import { BacklogFullError, ListenerClosedError } from "./errors.ts";

/**
 * Accepts incoming connections. `for await` over it ends quietly when it
 * closes; `close()` leaves accepted connections open.
 *
 * @example
 * ```ts
 * import { connect, listen } from "@tether/tether";
 *
 * await using listener = listen({ transport: "memory", name: "greeter" });
 * const dialing = connect({ transport: "memory", name: "greeter" });
 * await using server = await listener.accept({ signal: AbortSignal.timeout(1000) });
 * await using client = await dialing;
 * console.log(server.localAddr.address, client.remoteAddr.address); // greeter greeter
 * ```
 */
export interface Listener<C extends Conn = Conn> extends AsyncIterable<C>, AsyncDisposable, Disposable {
  /** The address the listener listens on. */
  readonly addr: Addr;
  /** Waits for the next connection; rejects with `ListenerClosedError` once closed. */
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
 * const done = ping(listener.dialer());
 * await using conn = await listener.accept();
 * await done;
 * console.log(await conn.read(new Uint8Array(1))); // 1
 * ```
 */
export interface Dialer {
  /** Connects; honours its signal. */
  dial(options?: CallOptions): Promise<Conn>;
}

interface PendingConnect<C> {
  conn: C;
  accepted(): void;
  refused(): void;
}

interface PendingAccept<C> {
  resolve(conn: C): void;
  reject(reason: unknown): void;
  settled(): void;
}

/**
 * The accept side of an in-process listener: connects wait in a bounded
 * backlog until accepted, accepts wait until a connect arrives.
 *
 * @example
 * ```ts
 * import { AcceptQueue } from "@tether/tether";
 *
 * const queue = new AcceptQueue<string>("memory:demo", 1);
 * const offered = queue.offer("conn", "dialer-end");
 * console.log(await queue.accept(), await offered); // conn dialer-end
 * ```
 */
export class AcceptQueue<C> {
  /** The address named in errors. */
  readonly address: string;
  /** How many connects may wait unaccepted. */
  readonly backlog: number;
  #connects: PendingConnect<C>[] = [];
  #accepts: PendingAccept<C>[] = [];
  #closed = false;
  #closedError = () => new ListenerClosedError(this.address);

  /** Makes a queue for the listener at `address`. */
  constructor(address: string, backlog: number) {
    this.address = address;
    this.backlog = backlog;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Offers `conn` to the listener; resolves with `result` once it is
   * accepted. Rejects with `closedError()` (by default `ListenerClosedError`)
   * if the listener is or gets closed first,
   * `BacklogFullError` if the backlog is full, or the signal's reason, in
   * which case the connect is withdrawn.
   */
  offer<R>(
    conn: C,
    result: R,
    options?: CallOptions,
    closedError: () => Error = this.#closedError,
  ): Promise<R> {
    const bad = badSignal(options);
    if (bad) return Promise.reject(bad);
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#closed) return Promise.reject(closedError());
    const accept = this.#accepts.shift();
    if (accept) {
      accept.settled();
      accept.resolve(conn);
      return Promise.resolve(result);
    }
    if (this.#connects.length >= this.backlog) {
      return Promise.reject(new BacklogFullError(this.address, this.backlog));
    }
    const { promise, resolve, reject } = Promise.withResolvers<R>();
    const pending: PendingConnect<C> = {
      conn,
      accepted: () => {
        settled();
        resolve(result);
      },
      refused: () => {
        settled();
        reject(closedError());
      },
    };
    const settled = watch(signal, () => {
      const i = this.#connects.indexOf(pending);
      if (i >= 0) this.#connects.splice(i, 1);
      reject(signal!.reason);
    });
    this.#connects.push(pending);
    return promise;
  }

  /** Takes the next connect, waiting for one within the signal. */
  accept(options?: CallOptions): Promise<C> {
    const bad = badSignal(options);
    if (bad) return Promise.reject(bad);
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const pending = this.#connects.shift();
    if (pending) {
      pending.accepted();
      return Promise.resolve(pending.conn);
    }
    if (this.#closed) return Promise.reject(new ListenerClosedError(this.address));
    const { promise, resolve, reject } = Promise.withResolvers<C>();
    const accept: PendingAccept<C> = { resolve, reject, settled: noop };
    accept.settled = watch(signal, () => {
      const i = this.#accepts.indexOf(accept);
      if (i >= 0) this.#accepts.splice(i, 1);
      reject(signal!.reason);
    });
    this.#accepts.push(accept);
    return promise;
  }

  /**
   * Closes: pending accepts reject with `ListenerClosedError`, waiting
   * connects with their `closedError()`; their conns go to `discard`.
   */
  close(discard: (conn: C) => void = noop): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const accept of this.#accepts.splice(0)) {
      accept.settled();
      accept.reject(new ListenerClosedError(this.address));
    }
    for (const pending of this.#connects.splice(0)) {
      pending.refused();
      discard(pending.conn);
    }
  }
}

/**
 * Iterates a listener's accepts until it is closed, ending quietly then.
 *
 * @example
 * ```ts
 * import { acceptLoop, listen } from "@tether/tether";
 *
 * const listener = listen({ transport: "memory" });
 * listener.close();
 * for await (const _ of acceptLoop(listener)) throw new Error("unreachable");
 * console.log("done");
 * ```
 */
export async function* acceptLoop<C extends Conn>(listener: Listener<C>): AsyncGenerator<C, void, undefined> {
  while (true) {
    try {
      yield await listener.accept();
    } catch (err) {
      if (err instanceof ListenerClosedError) return;
      throw err;
    }
  }
}
