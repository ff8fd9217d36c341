/**
 * {@linkcode virtualNetwork}: for the length of a test, `Deno.connect`,
 * `Deno.listen`, `Deno.serve`, `fetch` and `node:net` reach in-memory
 * listeners (or routed real servers) instead of the network, with faults on
 * demand.
 *
 * @example
 * ```ts
 * import { virtualNetwork } from "@tether/tether/vnet";
 *
 * await using _net = virtualNetwork();
 * await using _server = Deno.serve({ port: 8000, onListen() {} }, () => Response.json({ ok: true }));
 * const res = await fetch("http://localhost:8000/"); // no port was opened
 * console.log(await res.json()); // { ok: true }
 * ```
 *
 * @module
 */

import http from "node:http";
import https from "node:https";
import net from "node:net";
import tls from "node:tls";
import type { NetAddr } from "../conn.ts";
import type { Dialer, Listener } from "../listener.ts";
import type { QueueConn } from "../queue_conn.ts";
import { connect, type ConnectOptions } from "../transports/mod.ts";
import { checkOptions, describe } from "../_validate.ts";
import { Network, type Passthrough } from "./_network.ts";
import { dialerFor, type Route } from "./_holders.ts";
import {
  type DenoOriginals,
  patchedConnect,
  patchedConnectTls,
  patchedListen,
  patchedListenTls,
  patchedStartTls,
} from "./_deno.ts";
import { patchedServe } from "./_serve.ts";
import { patchedFetch } from "./_fetch.ts";
import {
  patchedAgentConnection,
  patchedNetConnect,
  patchedServerMethods,
  patchedTlsConnect,
  type ServerOriginals,
} from "./_node.ts";
import { placeOf } from "./_names.ts";
import type { Fault, FaultEvent, FaultSpec, FaultTarget } from "./faults.ts";

/**
 * Options of {@linkcode virtualNetwork}.
 *
 * @example
 * ```ts
 * import { virtualNetwork, type VirtualNetworkOptions } from "@tether/tether/vnet";
 *
 * const options: VirtualNetworkOptions = {
 *   seed: 1234, // replays the same jitter and slices
 *   passthrough: ["api.github.com"], // may reach the real host; nothing else does
 * };
 * await using net = virtualNetwork(options);
 * console.log(net.seed); // 1234
 * ```
 */
export interface VirtualNetworkOptions {
  /**
   * What may go to the real network when nothing virtual is at the address:
   * `false` (the default: it is refused, as if nothing listened), `true`
   * (everything), a list of hostnames, or a function of the
   * {@linkcode PassthroughTarget}. Unix sockets are never intercepted.
   */
  passthrough?: Passthrough;
  /**
   * The seed of every random draw (jitter, slice sizes); a random one by
   * default, readable as `net.seed`. The same seed and the same program
   * replay the same faults.
   */
  seed?: number;
  /** Hears what each fault did, for logs or to check that a seed replays. */
  trace?: (event: FaultEvent) => void;
  /** Bytes queued per direction of each connection before a writer waits; default 64 KiB. */
  bufferSize?: number;
}

/**
 * Options of {@linkcode VirtualNetwork.listen}.
 *
 * @example
 * ```ts
 * import { virtualNetwork, type VirtualListenOptions } from "@tether/tether/vnet";
 *
 * await using net = virtualNetwork();
 * const options: VirtualListenOptions = { hostname: "db.internal", port: 5432 };
 * using listener = net.listen(options);
 * console.log(listener.addr.address); // "db.internal:5432"
 * ```
 */
export interface VirtualListenOptions {
  /** The host; default `0.0.0.0` (this host, as `localhost`, `127.0.0.1`... all are). */
  hostname?: string;
  /** The port; 0 (the default) picks a free one, reported in `addr.port`. */
  port?: number;
  /** How many connects may wait unaccepted; default 511, as `Deno.listen`. */
  backlog?: number;
}

/**
 * A listener of the test's own on the virtual network: a tether
 * {@linkcode Listener} of conns made by the code under test's connects, and
 * a `dialer()` that connects to it through the network.
 *
 * @example
 * ```ts
 * import { type VirtualNetListener, virtualNetwork } from "@tether/tether/vnet";
 *
 * await using net = virtualNetwork();
 * using fake: VirtualNetListener = net.listen({ hostname: "cache.internal", port: 11211 });
 * const client = await Deno.connect({ hostname: "cache.internal", port: 11211 });
 * await using server = await fake.accept();
 * console.log(server.remoteAddr.hostname, client.remoteAddr.port); // "127.0.0.1" 11211
 * client.close();
 * ```
 */
export interface VirtualNetListener extends Listener<QueueConn> {
  /** Where it listens: `transport: "tcp"`, the hostname and the port. */
  readonly addr: NetAddr;
  /** Connects to this listener through the network, faults and all. */
  dialer(): Dialer;
}

/**
 * A route of the virtual network: connects to its address go to a real
 * place. `remove()` (or leaving a `using` block) ends it; connections made
 * stay.
 *
 * @example
 * ```ts
 * import { virtualNetwork, type VirtualRoute } from "@tether/tether/vnet";
 * import { listen } from "@tether/tether";
 *
 * await using net = virtualNetwork();
 * using real = listen({ transport: "memory", name: "real-db" });
 * using route: VirtualRoute = net.route({ hostname: "db.internal", port: 5432 }, { transport: "memory", name: "real-db" });
 * console.log(route.addr.address); // "db.internal:5432"
 * ```
 */
export interface VirtualRoute extends Disposable {
  /** The virtual address routed. */
  readonly addr: NetAddr;
  /** Ends the route; later connects are refused. Idempotent. */
  remove(): void;
}

/** Marks the realm while a network is installed, across copies of this module. */
const INSTALLED = Symbol.for("@tether/tether/vnet: installed");

type Realm = typeof globalThis & { [INSTALLED]?: { seed: number; stack: string } };

interface Saved {
  target: object;
  key: PropertyKey;
  descriptor: PropertyDescriptor | undefined;
}

/**
 * A virtual network, installed in front of `Deno.connect`, `Deno.listen`,
 * `Deno.serve`, `fetch` and `node:net` from {@linkcode virtualNetwork}
 * until it is disposed. See the module docs for what each one does.
 *
 * @example
 * ```ts
 * import { virtualNetwork } from "@tether/tether/vnet";
 *
 * await using net = virtualNetwork({ seed: 42 });
 * using db = net.listen({ hostname: "db.internal", port: 5432 });
 * using _slow = net.fault({ hostname: "db.internal" }, { type: "latency", ms: 20 });
 * const conn = await Deno.connect({ hostname: "db.internal", port: 5432 });
 * await conn.write(new TextEncoder().encode("SELECT 1"));
 * await using server = await db.accept();
 * console.log(await server.read(new Uint8Array(8))); // 8, some 20 ms later
 * conn.close();
 * ```
 */
export class VirtualNetwork implements AsyncDisposable {
  #network: Network;
  #saved: Saved[];
  #state: "installed" | "disposing" | "disposed" = "installed";
  #disposed: Promise<void> | null = null;

  /** @internal Use {@linkcode virtualNetwork}. */
  constructor(network: Network, saved: Saved[]) {
    this.#network = network;
    this.#saved = saved;
  }

  /** The seed of the random draws; log it to replay a failing run with `virtualNetwork({ seed })`. */
  get seed(): number {
    return this.#network.seed;
  }

  /** How many connections have been made through the network. */
  get connections(): number {
    return this.#network.connections;
  }

  /**
   * Listens on the virtual network, as a fake server of the test: the code
   * under test's connects to the address come to it. A taken address is an
   * `AddrInUseError`.
   */
  listen(options: VirtualListenOptions = {}): VirtualNetListener {
    checkOptions(options, "listen");
    const { hostname = "0.0.0.0", port = 0, backlog = 511 } = options;
    return this.#network.listen(hostname, port, backlog, "listen");
  }

  /**
   * Routes a virtual address to a real place: connect options of any tether
   * transport (a Unix socket of a real server the test started, a memory
   * listener; a TCP address only where `passthrough` allows it), or a
   * `Dialer`. Connections through it get the faults in force.
   */
  route(from: { hostname: string; port: number }, to: ConnectOptions | Dialer): VirtualRoute {
    checkOptions(from, "route");
    const place = placeOf(from.hostname, from.port, "route");
    const target = to as { transport?: unknown; hostname?: unknown; port?: unknown };
    if (target?.transport === "tcp") {
      const hostname = String(target.hostname ?? "").toLowerCase();
      const port = Number(target.port);
      if (!this.#network.allowsOut({ hostname, port, protocol: "tcp" })) {
        throw new TypeError(
          `route(): ${from.hostname}:${from.port} → tcp ${hostname}:${port} would reach the real network; ` +
            "allow that host with the passthrough option, or route to a Unix socket",
        );
      }
      if (placeOf(hostname, port, "route").host === place.host && port === place.port) {
        throw new TypeError(`route(): ${from.hostname}:${from.port} cannot route to itself`);
      }
    }
    return this.#network.route(place.hostname, place.port, dialerFor(to, connect)) as Route;
  }

  /**
   * Puts a fault in force on every connection to an address (`{ hostname,
   * port }`, either left out for any), or on one connection (a conn of
   * either end). See {@linkcode FaultSpec} for what each fault does.
   */
  fault(where: FaultTarget, spec: FaultSpec): Fault {
    return this.#network.fault(where, spec);
  }

  /**
   * Disposes of the network: closes its listeners, servers and
   * connections, waits until they are done, then puts back the originals of
   * everything it patched. Idempotent.
   */
  close(): Promise<void> {
    return this.#disposed ??= this.#dispose();
  }

  async #dispose(): Promise<void> {
    this.#state = "disposing";
    try {
      await this.#network.dispose();
    } finally {
      restore(this.#saved);
      delete (globalThis as Realm)[INSTALLED];
      this.#state = "disposed";
    }
  }

  /** Disposes of the network; see {@linkcode VirtualNetwork.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function save(target: object, key: PropertyKey): Saved {
  return { target, key, descriptor: Object.getOwnPropertyDescriptor(target, key) };
}

/** Puts back each property exactly as it was: its descriptor, getter and setter included. */
function restore(saved: Saved[]): void {
  for (const { target, key, descriptor } of saved.toReversed()) {
    if (descriptor === undefined) delete (target as Record<PropertyKey, unknown>)[key];
    else Object.defineProperty(target, key, descriptor);
  }
}

/** Replaces a property, saving its descriptor to restore. */
function patch(saved: Saved[], target: object, key: PropertyKey, value: unknown): void {
  const descriptor = save(target, key);
  saved.push(descriptor);
  const enumerable = descriptor.descriptor?.enumerable ?? true;
  Object.defineProperty(target, key, { value, writable: true, enumerable, configurable: true });
}

/**
 * Installs a virtual network for the length of a test: `await using net =
 * virtualNetwork()`. Until it is disposed (also when the test throws),
 *
 * - `Deno.listen({ hostname, port })`, `Deno.serve(...)` and any
 *   `net.Server`'s `listen(port)` (`node:net`'s, `node:http`'s) listen on
 *   the virtual network (port 0 gets a free virtual port, reported as
 *   usual), and `Deno.connect`, `fetch("http://host:port/")`, `node:net`'s
 *   `connect` and `node:http`'s requests reach them with no socket opened. Hosts are the names the code uses; `localhost`,
 *   `127.0.0.1`, `::1`, `0.0.0.0` and `::` all name this host.
 * - Anything else is refused (`Deno.errors.ConnectionRefused`, a
 *   `TypeError` from `fetch`, `ECONNREFUSED` from `node:net`) unless
 *   `passthrough` lets it out. Unix sockets are left alone.
 * - TLS (`https:`, `Deno.connectTls`, `tls.connect`) is not simulated: it
 *   goes out where `passthrough` allows the host, and is otherwise refused
 *   with an error naming the host.
 *
 * A second network while one is installed is an error: networks do not
 * stack.
 *
 * @example A production handler tested with no port opened
 * ```ts
 * import { virtualNetwork } from "@tether/tether/vnet";
 *
 * await using net = virtualNetwork();
 * // The app under test, unchanged:
 * const server = Deno.serve({ port: 8080, onListen() {} }, (req) => new Response(`hi from ${new URL(req.url).pathname}`));
 * console.log(await (await fetch("http://localhost:8080/app")).text()); // "hi from /app"
 * // One fault: the next connection is reset after 10 bytes.
 * using _reset = net.fault({ port: 8080 }, { type: "reset", afterBytes: 10 });
 * const err = await fetch("http://localhost:8080/again", { headers: { connection: "close" } }).catch((e) => e);
 * console.log(err instanceof TypeError); // true
 * await server.shutdown();
 * ```
 */
export function virtualNetwork(options: VirtualNetworkOptions = {}): VirtualNetwork {
  checkOptions(options, "virtualNetwork");
  const { passthrough = false, seed = crypto.getRandomValues(new Uint32Array(1))[0], trace, bufferSize } =
    options;
  if (
    !(typeof passthrough === "boolean" || typeof passthrough === "function" || Array.isArray(passthrough))
  ) {
    throw new TypeError(
      `passthrough must be a boolean, a list of hostnames or a function, got ${describe(passthrough)}`,
    );
  }
  if (typeof seed !== "number" || !Number.isInteger(seed)) {
    throw new TypeError(`seed must be a whole number, got ${describe(seed)}`);
  }
  if (trace !== undefined && typeof trace !== "function") {
    throw new TypeError(`trace must be a function, got ${describe(trace)}`);
  }
  const realm = globalThis as Realm;
  const installed = realm[INSTALLED];
  if (installed !== undefined) {
    throw new Error(
      `a virtual network (seed ${installed.seed}) is already installed in this isolate: dispose of it first ` +
        "(await using net = virtualNetwork() disposes at the end of the block); networks do not stack. " +
        `It was made ${installed.stack}`,
    );
  }
  const network = new Network({
    seed: seed >>> 0,
    passthrough: Array.isArray(passthrough) ? passthrough.map((h) => String(h).toLowerCase()) : passthrough,
    trace,
    bufferSize,
  });
  const deno: DenoOriginals = {
    connect: Deno.connect,
    listen: Deno.listen,
    connectTls: Deno.connectTls,
    listenTls: Deno.listenTls,
    startTls: Deno.startTls,
  };
  const saved: Saved[] = [];
  try {
    patch(saved, Deno, "connect", patchedConnect(network, deno));
    patch(saved, Deno, "listen", patchedListen(network, deno));
    patch(saved, Deno, "connectTls", patchedConnectTls(network, deno));
    patch(saved, Deno, "listenTls", patchedListenTls(network, deno));
    patch(saved, Deno, "startTls", patchedStartTls(deno));
    patch(saved, Deno, "serve", patchedServe(network, Deno.serve));
    patch(saved, globalThis, "fetch", patchedFetch(network, globalThis.fetch));
    const netConnect = patchedNetConnect(network, net.connect);
    const createConnection = patchedNetConnect(network, net.createConnection);
    patch(saved, net, "connect", netConnect);
    patch(saved, net, "createConnection", createConnection);
    const tlsConnect = patchedTlsConnect(network, tls.connect);
    patch(saved, tls, "connect", tlsConnect);
    // Every net.Server (net.createServer's, node:http's) listens through its prototype.
    const proto = net.Server.prototype;
    const servers: ServerOriginals = {
      listen: proto.listen,
      address: proto.address,
      close: proto.close,
      getConnections: proto.getConnections,
      ref: proto.ref,
      unref: proto.unref,
    };
    const methods = patchedServerMethods(network, servers);
    for (const name of ["listen", "address", "close", "getConnections", "ref", "unref"]) {
      patch(saved, proto, name, methods[name]);
    }
    // node:http's clients take their connections from their agents.
    const agents: [object, "http" | "https"][] = [[http.Agent.prototype, "http"], [
      https.Agent.prototype,
      "https",
    ]];
    for (const [agent, protocol] of agents) {
      const original = (agent as { createConnection: (...args: unknown[]) => unknown }).createConnection;
      patch(
        saved,
        agent,
        "createConnection",
        patchedAgentConnection(network, original, protocol, tlsConnect),
      );
    }
  } catch (err) {
    restore(saved);
    throw err;
  }
  const stack = (new Error().stack ?? "").split("\n").slice(2, 3).join("").trim();
  realm[INSTALLED] = { seed: network.seed, stack: stack === "" ? "elsewhere" : stack };
  return new VirtualNetwork(network, saved);
}
