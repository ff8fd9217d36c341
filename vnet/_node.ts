/**
 * `node:net` on the virtual network: `connect`/`createConnection` give a
 * `net.Socket`-shaped stream (`toDuplex` from `@tether/tether/node`) over a
 * virtual connection, `createServer` a `net.Server` whose port-based
 * `listen` is virtual; `node:tls`'s `connect` is refused clearly unless
 * passthrough allows it. npm packages reach these through the one
 * `node:net` module object, which is what gets patched. Private to `vnet/`.
 *
 * @module
 */

import net from "node:net";
import process from "node:process";
import type tls from "node:tls";
import { ConnError } from "../errors.ts";
import { noop } from "../_async/waiter.ts";
import type { QueueConn } from "../queue_conn.ts";
import { type ConnSocket, toDuplex } from "../node/socket.ts";
import type { Network } from "./_network.ts";
import type { VirtualListener } from "./_holders.ts";
import { hostPort } from "./_names.ts";

/** The originals the patches fall back to. */
export interface NodeOriginals {
  connect: typeof net.connect;
  createConnection: typeof net.createConnection;
  createServer: typeof net.createServer;
  tlsConnect: typeof tls.connect;
}

/** Node's argument normalization, as `net.connect` and `server.listen` do it. */
const normalizeArgs =
  (net as unknown as { _normalizeArgs(args: unknown[]): [Record<string, unknown>, unknown] })
    ._normalizeArgs;

/** Node's `errno` for the codes a virtual connect or listen fails with. */
const ERRNO: Record<string, number> = { ECONNREFUSED: -111, EADDRINUSE: -98, ECONNRESET: -104, EPIPE: -32 };

/**
 * An error as Node's sockets give them (`connect ECONNREFUSED host:port`,
 * with `code`, `errno`, `syscall`, `address`, `port`), the tether error as
 * its cause.
 */
function nodeError(err: unknown, syscall: string, hostname: string, port: number): Error {
  if (!(err instanceof ConnError) || ERRNO[err.code] === undefined) return err as Error;
  const detail = err.detail ? ` (${err.detail})` : "";
  const out = new Error(`${syscall} ${err.code} ${hostPort(hostname, port)}${detail}`, { cause: err });
  Object.assign(out, { errno: ERRNO[err.code], code: err.code, syscall, address: hostname, port });
  return out;
}

/** `net.connect`/`net.createConnection`: virtual for a host and port, the original for a path. */
export function patchedNetConnect(network: Network, original: typeof net.connect): typeof net.connect {
  return function connect(...args: unknown[]) {
    const [options, callback] = normalizeArgs(args);
    if (options.path !== undefined || options.port === undefined) {
      return (original as (...a: unknown[]) => net.Socket)(...args);
    }
    const hostname = typeof options.host === "string" ? options.host : "localhost";
    const port = Number(options.port);
    const resolution = network.resolve(hostname, port, "tcp", "net.connect");
    if (resolution.kind === "passthrough") return (original as (...a: unknown[]) => net.Socket)(...args);
    const conn: Promise<QueueConn> = resolution.kind === "refused"
      ? Promise.reject(nodeError(resolution.error, "connect", hostname, port))
      : network.dial(resolution.place).catch((err) => {
        throw nodeError(err, "connect", hostname, port);
      });
    const socket = toDuplex(conn, { allowHalfOpen: options.allowHalfOpen === true });
    conn.then((c) => network.alias(socket, c), noop);
    if (typeof callback === "function") socket.once("connect", callback as () => void);
    if (typeof options.timeout === "number") socket.setTimeout(options.timeout);
    if (options.noDelay === true) socket.setNoDelay(true);
    if (options.keepAlive === true) socket.setKeepAlive(true);
    return socket as unknown as net.Socket;
  } as typeof net.connect;
}

/** `tls.connect`: the original where passthrough allows the host, else a socket that fails naming it. */
export function patchedTlsConnect(network: Network, original: typeof tls.connect): typeof tls.connect {
  return function connect(...args: unknown[]) {
    const first = args[0];
    const options =
      (typeof first === "object" && first !== null
        ? first
        : args.find((a) => typeof a === "object" && a !== null) ?? {}) as tls.ConnectionOptions;
    const port = typeof first === "number" ? first : Number(options.port ?? 443);
    const hostname = typeof first === "number" && typeof args[1] === "string"
      ? args[1]
      : options.host ?? "localhost";
    if (
      options.socket === undefined &&
      network.allowsOut({ hostname: hostname.toLowerCase(), port, protocol: "tls" })
    ) {
      return (original as (...a: unknown[]) => tls.TLSSocket)(...args);
    }
    const err = Object.assign(
      new Error(
        `connect ECONNREFUSED ${
          hostPort(hostname, port)
        } (tls.connect: the virtual network does not speak TLS; ` +
          "connect in plain TCP in tests, or let the host through with the passthrough option)",
      ),
      { code: "ECONNREFUSED", errno: ERRNO.ECONNREFUSED, syscall: "connect", address: hostname, port },
    );
    return toDuplex(Promise.reject(err)) as unknown as tls.TLSSocket;
  } as typeof tls.connect;
}

/** What a `net.Server` listening virtually is doing: listening, or closed. */
type ServerState =
  | {
    readonly kind: "listening";
    readonly listener: VirtualListener;
    readonly sockets: Set<ConnSocket>;
    /** What the network closes if it is disposed of first. */
    readonly owned: { close(): void };
  }
  | { readonly kind: "closed" };

/** The `net.Server` methods that the patches take over for a server listening virtually. */
export interface ServerOriginals {
  listen: net.Server["listen"];
  address: net.Server["address"];
  close: net.Server["close"];
  getConnections: net.Server["getConnections"];
  ref: net.Server["ref"];
  unref: net.Server["unref"];
}

/** The fields Node's `listening` getter reads (`!!(_handle && _connectionKey)`), and servers consult. */
interface ServerInternals {
  _handle: unknown;
  _connectionKey: string | undefined;
}

/**
 * `net.Server.prototype`'s methods, virtual-aware: a `listen(port, host)`
 * listens on the virtual network, so every `net.Server` (from
 * `net.createServer`, and `node:http`'s and frameworks' servers built on it)
 * does; a path, handle or fd listens for real, and a server that never
 * listened virtually keeps the original behaviour throughout.
 */
export function patchedServerMethods(network: Network, original: ServerOriginals): Record<string, unknown> {
  const states = new WeakMap<net.Server, ServerState>();

  async function serve(
    server: net.Server,
    listener: VirtualListener,
    sockets: Set<ConnSocket>,
  ): Promise<void> {
    const allowHalfOpen = (server as unknown as { allowHalfOpen?: boolean }).allowHalfOpen === true;
    for await (const conn of listener) {
      const socket = toDuplex(conn, { allowHalfOpen });
      network.alias(socket, conn);
      if (server.maxConnections !== undefined && sockets.size >= server.maxConnections) {
        socket.destroy();
        continue;
      }
      sockets.add(socket);
      socket.once("close", () => {
        sockets.delete(socket);
        if (states.get(server)?.kind === "closed" && sockets.size === 0) server.emit("close");
      });
      server.emit("connection", socket);
    }
  }

  return {
    listen(this: net.Server, ...args: unknown[]): net.Server {
      const [options, callback] = normalizeArgs(args);
      if (options.path !== undefined || options.handle !== undefined || options.fd !== undefined) {
        return (original.listen as (...a: unknown[]) => net.Server).apply(this, args);
      }
      if (states.get(this)?.kind === "listening") {
        const err = Object.assign(
          new Error("Listen method has been called more than once without closing."),
          {
            code: "ERR_SERVER_ALREADY_LISTEN",
          },
        );
        throw err;
      }
      if (typeof callback === "function") this.once("listening", callback as () => void);
      const hostname = typeof options.host === "string" ? options.host : "::";
      const port = Number(options.port ?? 0);
      let listener: VirtualListener;
      try {
        listener = network.listen(
          hostname,
          port,
          typeof options.backlog === "number" ? options.backlog : 511,
          "listen",
        );
      } catch (err) {
        process.nextTick(() => this.emit("error", nodeError(err, "listen", hostname, port)));
        return this;
      }
      const sockets = new Set<ConnSocket>();
      const owned = { close: () => this.close() };
      states.set(this, { kind: "listening", listener, sockets, owned });
      // A stand-in handle makes `listening` true, which node:http's server asks before keeping a conn alive.
      const internals = this as unknown as ServerInternals;
      internals._handle = { close() {}, ref() {}, unref() {} };
      internals._connectionKey = `virtual:${listener.addr.address}`;
      network.own(owned);
      process.nextTick(() => this.emit("listening"));
      void serve(this, listener, sockets);
      return this;
    },

    address(this: net.Server): net.AddressInfo | string | null {
      const state = states.get(this);
      if (state === undefined) return original.address.call(this);
      if (state.kind === "closed") return null;
      const { hostname, port } = state.listener.addr;
      return { address: hostname, family: hostname.includes(":") ? "IPv6" : "IPv4", port };
    },

    close(this: net.Server, callback?: (err?: Error) => void): net.Server {
      const state = states.get(this);
      if (state === undefined) return original.close.call(this, callback);
      if (state.kind === "closed") {
        const err = Object.assign(new Error("Server is not running."), { code: "ERR_SERVER_NOT_RUNNING" });
        if (callback) process.nextTick(() => callback(err));
        return this;
      }
      if (callback) this.once("close", () => callback());
      network.disown(state.owned);
      states.set(this, { kind: "closed" });
      (this as unknown as ServerInternals)._handle = null;
      state.listener.close();
      // As Node's: 'close' once the connections still open have ended (see serve()); the network's
      // disposal ends them.
      if (state.sockets.size === 0) process.nextTick(() => this.emit("close"));
      else if (network.disposed) { for (const socket of state.sockets) socket.destroy(); }
      return this;
    },

    getConnections(this: net.Server, callback: (error: Error | null, count: number) => void): net.Server {
      const state = states.get(this);
      if (state === undefined) return original.getConnections.call(this, callback);
      process.nextTick(() => callback(null, state.kind === "listening" ? state.sockets.size : 0));
      return this;
    },

    ref(this: net.Server): net.Server {
      const state = states.get(this);
      if (state === undefined) return original.ref.call(this);
      if (state.kind === "listening") state.listener.ref();
      return this;
    },

    unref(this: net.Server): net.Server {
      const state = states.get(this);
      if (state === undefined) return original.unref.call(this);
      if (state.kind === "listening") state.listener.unref();
      return this;
    },
  };
}

/**
 * `http.Agent.prototype.createConnection` (and `https.Agent`'s): a
 * connection for a host and port the network serves is virtual, so
 * `node:http` clients (and npm ones on them) reach virtual servers; the rest
 * goes to the original where passthrough allows, else fails as a refused
 * connect. TLS (`https.Agent`) is refused clearly unless passthrough allows.
 */
export function patchedAgentConnection(
  network: Network,
  original: (...args: unknown[]) => unknown,
  protocol: "http" | "https",
  tlsConnect: typeof tls.connect,
): (...args: unknown[]) => unknown {
  return function createConnection(this: unknown, ...args: unknown[]) {
    const options = (args[0] ?? {}) as {
      host?: string;
      hostname?: string;
      port?: number | string;
      path?: string;
      socketPath?: string;
    };
    if (options.socketPath !== undefined) return original.apply(this, args);
    const hostname = options.host ?? options.hostname ?? "localhost";
    const port = Number(options.port ?? (protocol === "https" ? 443 : 80));
    if (protocol === "https") return tlsConnect(options as tls.ConnectionOptions);
    const resolution = network.resolve(hostname, port, "tcp", "http.request");
    if (resolution.kind === "passthrough") return original.apply(this, args);
    const conn: Promise<QueueConn> = resolution.kind === "refused"
      ? Promise.reject(nodeError(resolution.error, "connect", hostname, port))
      : network.dial(resolution.place).catch((err) => {
        throw nodeError(err, "connect", hostname, port);
      });
    const socket = toDuplex(conn);
    conn.then((c) => network.alias(socket, c), noop);
    return socket;
  };
}
