/**
 * What holds a port of the virtual network: a {@linkcode VirtualListener}
 * (a listener of the code under test's or of the test's own), or a
 * {@linkcode Route} to a real place. Private to `vnet/`.
 *
 * @module
 */

import type { CallOptions, Conn, NetAddr } from "../conn.ts";
import type { Dialer } from "../listener.ts";
import { AcceptQueue, ListenerBase } from "../accept_queue.ts";
import type { QueueConn } from "../queue_conn.ts";
import type { ConnectOptions } from "../transports/mod.ts";
import { describe } from "../_validate.ts";
import type { Hold } from "./_keep_alive.ts";
import { netAddr, type Place } from "./_names.ts";
import type { Network } from "./_network.ts";

/**
 * A listener on the virtual network: a tether {@linkcode Listener} whose
 * conns come from connects made through the network (with its faults).
 */
export class VirtualListener extends ListenerBase<QueueConn> {
  readonly addr: NetAddr;
  readonly #queue: AcceptQueue<QueueConn>;
  readonly #network: Network;
  readonly #place: Place;
  readonly #hold: Hold;

  constructor(network: Network, place: Place, backlog: number) {
    super();
    this.#network = network;
    this.#place = place;
    this.addr = netAddr(place.hostname, place.port);
    this.#queue = new AcceptQueue({ addr: `tcp:${this.addr.address}`, backlog });
    this.#hold = network.hold();
  }

  /** Keeps the process alive while it listens (the default), as a listening socket does. */
  ref(): void {
    this.#hold.ref();
  }

  /** Lets the process end while it listens. */
  unref(): void {
    this.#hold.unref();
  }

  /** @internal Queues a server end; throws `BacklogFullError` or `ListenerClosedError`. */
  enqueue(conn: QueueConn): void {
    this.#queue.enqueue(conn);
  }

  /** Whether it was closed. */
  get closed(): boolean {
    return this.#queue.closed;
  }

  accept(options?: CallOptions): Promise<QueueConn> {
    return this.#queue.accept(options);
  }

  /** A dialer that connects to this listener through the network, faults and all. */
  dialer(): Dialer {
    return { dial: (options) => this.#network.connect(this.#place.hostname, this.#place.port, options) };
  }

  close(): void {
    if (this.#queue.closed) return;
    this.#network.release(this.#place, this);
    this.#hold.release();
    this.#queue.close((conn) => conn.close());
  }
}

/**
 * A route: a virtual address whose connects go to a real place (a Unix
 * socket, a TCP address, any tether dialer), through the network's faults.
 */
export class Route implements Disposable {
  /** The virtual address routed. */
  readonly addr: NetAddr;
  readonly #network: Network;
  readonly #place: Place;
  readonly #dialer: Dialer;
  #state: "open" | "removed" = "open";

  constructor(network: Network, place: Place, dialer: Dialer) {
    this.#network = network;
    this.#place = place;
    this.#dialer = dialer;
    this.addr = netAddr(place.hostname, place.port);
  }

  /** @internal Dials the real place. */
  dial(options: CallOptions): Promise<Conn> {
    return this.#dialer.dial(options);
  }

  /** Removes the route: later connects are refused; connections made stay. Idempotent. */
  remove(): void {
    if (this.#state === "removed") return;
    this.#state = "removed";
    this.#network.release(this.#place, this);
  }

  /** Removes the route. */
  [Symbol.dispose](): void {
    this.remove();
  }
}

/** A dialer for a route's target: connect options of any transport, or a dialer. */
export function dialerFor(
  target: ConnectOptions | Dialer,
  connect: (options: ConnectOptions) => Promise<Conn>,
): Dialer {
  if (target !== null && typeof target === "object" && typeof (target as Dialer).dial === "function") {
    return target as Dialer;
  }
  if (target === null || typeof target !== "object" || !("transport" in target)) {
    throw new TypeError(
      `route() takes where to go: connect options ({ transport: "unix", path }...) or a Dialer, got ${
        describe(target)
      }`,
    );
  }
  const { signal: _ignored, ...fixed } = target as ConnectOptions;
  return { dial: (options) => connect({ ...fixed, signal: options?.signal } as ConnectOptions) };
}
