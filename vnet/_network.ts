/**
 * The virtual network itself, apart from the patches that put it in front
 * of `Deno`, `fetch` and `node:net`: which host and port holds a listener
 * or a route, connects, the links they make, and the faults in force.
 * Private to `vnet/`.
 *
 * @module
 */

import type { CallOptions, Conn, NetAddr } from "../conn.ts";
import type { Dialer } from "../listener.ts";
import type { QueueConn } from "../queue_conn.ts";
import { AddrInUseError, ConnectionRefusedError, ListenerClosedError } from "../errors.ts";
import { abortable } from "../_async/abortable.ts";
import { checkBufferSize, describe, refusal } from "../_validate.ts";
import { noop } from "../_async/waiter.ts";
import { abortError } from "../errors.ts";
import { type FaultEntry, Link, type LinkHost } from "./_link.ts";
import { Route, VirtualListener } from "./_holders.ts";
import { type Hold, KeepAlive } from "./_keep_alive.ts";
import type { DirectServer } from "./_direct.ts";
import { hostPort, isLocal, LOCAL, netAddr, normalHost, type Place, placeOf, PortTable } from "./_names.ts";
import { type CheckedSpec, checkSpec, type Fault, type FaultEvent, type FaultSpec } from "./faults.ts";

/**
 * What may go to the real network: everything (`true`), nothing (`false`,
 * the default), the hosts named, or what a function allows.
 *
 * @example
 * ```ts
 * import type { Passthrough } from "@tether/tether/vnet";
 *
 * const onlyLoopbackPostgres: Passthrough = ({ hostname, port }) => hostname === "127.0.0.1" && port === 5432;
 * console.log(typeof onlyLoopbackPostgres); // "function"
 * ```
 */
export type Passthrough = boolean | readonly string[] | ((target: PassthroughTarget) => boolean);

/**
 * An address the code under test reached for that the virtual network does
 * not serve, as a `passthrough` function sees it.
 *
 * @example
 * ```ts
 * import type { PassthroughTarget } from "@tether/tether/vnet";
 *
 * const onlyGithub = (target: PassthroughTarget) => target.hostname === "api.github.com" && target.protocol === "https";
 * console.log(onlyGithub({ hostname: "api.github.com", port: 443, protocol: "https" })); // true
 * ```
 */
export interface PassthroughTarget {
  /** The host as the code named it, lower-cased. */
  readonly hostname: string;
  /** The port. */
  readonly port: number;
  /** How it was reached: a TCP connect, a TLS connect, or a fetch. */
  readonly protocol: "tcp" | "tls" | "http" | "https";
}

/** Something the network closes when it is disposed, and waits for. */
export interface Owned {
  close(): void;
  readonly finished?: Promise<unknown>;
}

/** What an address resolves to. */
export type Resolution =
  | { readonly kind: "virtual"; readonly place: Place }
  | { readonly kind: "passthrough" }
  | { readonly kind: "refused"; readonly error: ConnectionRefusedError };

/** What holds a port: a listener or a route. */
type Holder = VirtualListener | Route;

/** Where a fault acts: every link to an address (any part may be left open), or one link. */
type Scope = { readonly kind: "address"; readonly host?: string; readonly port?: number } | {
  readonly kind: "link";
  readonly link: Link;
};

class FaultImpl implements Fault, FaultEntry {
  readonly spec: CheckedSpec;
  readonly scope: Scope;
  #network: Network;
  #active = true;

  constructor(network: Network, spec: CheckedSpec, scope: Scope) {
    this.#network = network;
    this.spec = spec;
    this.scope = scope;
  }

  get active(): boolean {
    return this.#active;
  }

  covers(link: Link): boolean {
    const scope = this.scope;
    if (scope.kind === "link") return scope.link === link;
    return this.coversAddress(link.target.host, link.target.port);
  }

  coversAddress(host: string, port: number): boolean {
    const scope = this.scope;
    if (scope.kind === "link") return false;
    return (scope.host === undefined || scope.host === host) &&
      (scope.port === undefined || scope.port === port);
  }

  remove(): void {
    if (!this.#active) return;
    this.#active = false;
    this.#network.lift(this);
  }

  [Symbol.dispose](): void {
    this.remove();
  }
}

/** The client address of connects made from this host. */
const CLIENT_V4 = "127.0.0.1";
const CLIENT_V6 = "::1";

/**
 * One virtual network: hosts and ports, links, faults. `state` is `open`
 * until disposal begins.
 */
export class Network implements LinkHost {
  readonly seed: number;
  readonly window: number;
  #ports = new PortTable<Holder>();
  #links = new Set<Link>();
  #linkCount = 0;
  #faults: FaultImpl[] = [];
  #changed = Promise.withResolvers<void>();
  #owned = new Set<Owned>();
  #passthrough: Passthrough;
  #trace: ((event: FaultEvent) => void) | undefined;
  #conns = new WeakMap<object, Link>();
  #keepAlive = new KeepAlive();
  #direct = new WeakMap<VirtualListener, DirectServer>();
  #state: "open" | "disposed" = "open";

  constructor(options: {
    seed: number;
    passthrough: Passthrough;
    trace?: (event: FaultEvent) => void;
    bufferSize?: number;
  }) {
    this.seed = options.seed;
    this.#passthrough = options.passthrough;
    this.#trace = options.trace;
    this.window = checkBufferSize(options.bufferSize);
  }

  get disposed(): boolean {
    return this.#state === "disposed";
  }

  /** How many connections were made through the network. */
  get connections(): number {
    return this.#linkCount;
  }

  // --- what links ask

  faults(): readonly FaultEntry[] {
    return this.#faults;
  }

  changed(): Promise<void> {
    return this.#changed.promise;
  }

  trace(event: FaultEvent): void {
    this.#trace?.(event);
  }

  forget(link: Link): void {
    this.#links.delete(link);
  }

  hold(): Hold {
    return this.#keepAlive.hold();
  }

  // --- addresses

  /** What `hostname:port` is: served here, allowed out, or refused. */
  resolve(hostname: string, port: number, protocol: PassthroughTarget["protocol"], fn: string): Resolution {
    const place = placeOf(hostname, port, fn);
    const where = `tcp:${hostPort(place.hostname, port)}`;
    if (this.#state === "disposed") {
      return {
        kind: "refused",
        error: new ConnectionRefusedError({ addr: where, detail: "the virtual network was disposed" }),
      };
    }
    const partitioned = this.#faults.some((f) =>
      f.spec.type === "partition" && f.coversAddress(place.host, port)
    );
    if (partitioned) {
      return {
        kind: "refused",
        error: new ConnectionRefusedError({
          addr: where,
          detail: `the virtual network is partitioned there (seed ${this.seed}); remove the fault to heal it`,
        }),
      };
    }
    if (this.#ports.get(place.host, port) !== undefined) return { kind: "virtual", place };
    if (this.allowsOut({ hostname: normalHost(hostname), port, protocol })) return { kind: "passthrough" };
    return {
      kind: "refused",
      error: new ConnectionRefusedError({
        addr: where,
        detail: "on the virtual network: listen there or route it (net.listen, net.route), " +
          "or let it through with the passthrough option",
      }),
    };
  }

  /** Whether `target` may go to the real network. */
  allowsOut(target: PassthroughTarget): boolean {
    const passthrough = this.#passthrough;
    if (typeof passthrough === "boolean") return passthrough;
    if (typeof passthrough === "function") return passthrough(target) === true;
    return passthrough.includes(target.hostname);
  }

  /** Whether something virtual holds `hostname:port`. */
  holds(hostname: string, port: number): boolean {
    const place = placeOf(hostname, port, "connect");
    return this.#ports.get(place.host, port) !== undefined;
  }

  /** Listens on `hostname:port` (0 for a free port); throws `AddrInUseError`. */
  listen(hostname: string, port: number, backlog: number, fn: string): VirtualListener {
    this.#checkOpen(fn);
    const place = placeOf(hostname, port, fn);
    const chosen = port === 0 ? this.#ports.ephemeral(place.host) : port;
    if (this.#ports.get(place.host, chosen) !== undefined) {
      throw new AddrInUseError({
        addr: `tcp:${hostPort(place.hostname, port)}`,
        detail: "another listener or a route of the virtual network holds it",
      });
    }
    const listener = new VirtualListener(this, { ...place, port: chosen }, backlog);
    this.#ports.take(place.host, chosen, listener);
    return listener;
  }

  /** Routes `hostname:port` to `dialer`; throws `AddrInUseError` if it is held. */
  route(hostname: string, port: number, dialer: Dialer): Route {
    this.#checkOpen("route");
    const place = placeOf(hostname, port, "route");
    if (port === 0) throw new RangeError("route: a route needs a port, not 0");
    const route = new Route(this, place, dialer);
    if (!this.#ports.take(place.host, port, route)) {
      throw new AddrInUseError({
        op: "route",
        addr: `tcp:${hostPort(place.hostname, port)}`,
        detail: "a listener or another route of the virtual network holds it",
      });
    }
    return route;
  }

  /** Lets `fetch` hand requests for `listener`'s address to `server` in-process. */
  serveDirect(listener: VirtualListener, server: DirectServer): void {
    this.#direct.set(listener, server);
  }

  /**
   * The in-process server at `place`, if a virtual `Deno.serve` listens
   * there and no fault covers the address (faults act on connections).
   */
  directAt(place: Place): DirectServer | undefined {
    const holder = this.#ports.get(place.host, place.port);
    if (!(holder instanceof VirtualListener) || holder.closed) return undefined;
    if (this.#faults.some((f) => f.coversAddress(place.host, place.port))) return undefined;
    return this.#direct.get(holder);
  }

  /** A client port, as a connect from this host would get. */
  clientPort(): number {
    return this.#ports.ephemeral(LOCAL);
  }

  /** Frees a port held by `holder`. */
  release(place: Place, holder: Holder): void {
    this.#ports.free(place.host, place.port, holder);
  }

  // --- connects

  /**
   * Connects to `hostname:port` on the network: to a virtual listener (the
   * connect completes from its backlog) or through a route. Rejects with
   * `ConnectionRefusedError` when nothing is there (passthrough is the
   * caller's business).
   */
  async connect(hostname: string, port: number, options?: CallOptions): Promise<QueueConn> {
    const resolution = this.resolve(hostname, port, "tcp", "connect");
    if (resolution.kind === "refused") throw resolution.error;
    if (resolution.kind === "passthrough") {
      throw new ConnectionRefusedError({
        addr: `tcp:${hostPort(hostname, port)}`,
        detail: "not on the virtual network (passthrough goes through Deno.connect)",
      });
    }
    return await this.dial(resolution.place, options);
  }

  /** Connects to a place that {@linkcode Network.resolve} found here. */
  async dial(place: Place, options?: CallOptions): Promise<QueueConn> {
    const where = `tcp:${hostPort(place.hostname, place.port)}`;
    const refused = refusal(options, { op: "connect", addr: where });
    if (refused !== undefined) throw refused;
    const holder = this.#ports.get(place.host, place.port);
    if (holder === undefined || (holder instanceof VirtualListener && holder.closed)) {
      throw new ConnectionRefusedError({ addr: where, detail: "the virtual listener there closed" });
    }
    const clientHost = place.hostname.includes(":") ? CLIENT_V6 : CLIENT_V4;
    const clientAddr = netAddr(clientHost, this.#ports.ephemeral(LOCAL));
    const serverAddr = netAddr(place.hostname, place.port);
    const target = { host: place.host, port: place.port };
    if (holder instanceof Route) {
      const real = await abortable(
        holder.dial({ signal: options?.signal }),
        options?.signal,
        (conn) => conn.close(),
        (reason) => abortError(reason, { op: "connect", addr: where }),
      ).catch((err) => {
        throw new ConnectionRefusedError({
          addr: where,
          detail: `the route's target refused: ${err.message}`,
          cause: err,
        });
      });
      this.#checkOpen("connect");
      return this.#link(target, clientAddr, serverAddr, real).client;
    }
    const link = this.#link(target, clientAddr, serverAddr);
    try {
      holder.enqueue(link.server!);
    } catch (err) {
      link.reset("refused");
      if (err instanceof ListenerClosedError) {
        throw new ConnectionRefusedError({ addr: where, detail: "the virtual listener there closed" });
      }
      throw err;
    }
    link.applyNow();
    return link.client;
  }

  #link(
    target: { host: string; port: number },
    clientAddr: NetAddr,
    serverAddr: NetAddr,
    real?: Conn,
  ): Link {
    const link = new Link({
      id: ++this.#linkCount,
      host: this,
      target,
      clientAddr,
      serverAddr,
      window: this.window,
      real,
    });
    this.#links.add(link);
    this.#conns.set(link.client, link);
    if (link.server) this.#conns.set(link.server, link);
    return link;
  }

  /** Makes `facade` (a Deno conn, a Node socket) name the link `conn` belongs to. */
  alias(facade: object, conn: object): void {
    const link = this.#conns.get(conn);
    if (link) this.#conns.set(facade, link);
  }

  // --- faults

  fault(where: unknown, spec: FaultSpec): Fault {
    this.#checkOpen("fault");
    const checked = checkSpec(spec);
    const fault = new FaultImpl(this, checked, this.#scope(where));
    this.#faults = [...this.#faults, fault];
    this.#wake();
    for (const link of this.#links) if (fault.covers(link)) link.applyNow();
    return fault;
  }

  lift(fault: FaultImpl): void {
    this.#faults = this.#faults.filter((f) => f !== fault);
    this.#wake();
  }

  #scope(where: unknown): Scope {
    if (where === null || typeof where !== "object") {
      throw new TypeError(
        `fault() takes where to act: an address ({ hostname, port }) or a conn of this network, got ${
          describe(where)
        }`,
      );
    }
    const link = this.#conns.get(where);
    if (link !== undefined) return { kind: "link", link };
    const keys = Object.keys(where);
    if (keys.some((key) => key !== "hostname" && key !== "port")) {
      throw new TypeError(
        "fault() takes an address ({ hostname?, port? }) or a conn this virtual network made; " +
          `got an object with ${keys.join(", ")} that is neither`,
      );
    }
    const { hostname, port } = where as { hostname?: string; port?: number };
    if (hostname !== undefined && typeof hostname !== "string") {
      throw new TypeError(`fault(): hostname must be a string, got ${describe(hostname)}`);
    }
    if (port !== undefined) placeOf("localhost", port, "fault");
    const name = hostname === undefined ? undefined : normalHost(hostname);
    return { kind: "address", host: name === undefined ? undefined : isLocal(name) ? LOCAL : name, port };
  }

  #wake(): void {
    const changed = this.#changed;
    this.#changed = Promise.withResolvers<void>();
    changed.resolve();
  }

  // --- lifetime

  /** Closes `owned` when the network is disposed, and waits for it. */
  own(owned: Owned): void {
    this.#owned.add(owned);
  }

  disown(owned: Owned): void {
    this.#owned.delete(owned);
  }

  /** Closes every listener, route, server and connection, and waits until all is done. */
  async dispose(): Promise<void> {
    if (this.#state === "disposed") return;
    this.#state = "disposed";
    const waits: Promise<unknown>[] = [];
    for (const owned of this.#owned) {
      try {
        owned.close();
      } catch {
        // Already closed by the code under test.
      }
      if (owned.finished) waits.push(owned.finished.catch(noop));
    }
    for (const holder of [...this.#ports.values()]) {
      if (holder instanceof VirtualListener) holder.close();
      else holder.remove();
    }
    for (const link of this.#links) {
      link.close("the virtual network was disposed");
      waits.push(link.finished);
    }
    this.#faults = [];
    this.#wake();
    await Promise.all(waits);
  }

  #checkOpen(fn: string): void {
    if (this.#state === "disposed") {
      throw new Error(`${fn}: this virtual network was disposed; make a new one with virtualNetwork()`);
    }
  }
}
