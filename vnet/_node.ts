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
import type { Network, VirtualListener } from "./_network.ts";
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

/** What a virtual `net.Server` is doing: nothing yet, listening virtually, or closed. */
type ServerState =
  | { readonly kind: "idle" }
  | {
    readonly kind: "listening";
    readonly listener: VirtualListener;
    readonly sockets: Set<ConnSocket>;
    /** What the network closes if it is disposed of first. */
    readonly owned: { close(): void };
  }
  | { readonly kind: "closed" };

/** `net.createServer`: a `net.Server` whose `listen(port, host)` is virtual; a path listens for real. */
export function patchedCreateServer(network: Network): typeof net.createServer {
  class VirtualServer extends net.Server {
    #state: ServerState = { kind: "idle" };

    override listen(...args: unknown[]): this {
      const [options, callback] = normalizeArgs(args);
      if (options.path !== undefined || options.handle !== undefined || options.fd !== undefined) {
        return super.listen(...args as Parameters<net.Server["listen"]>);
      }
      if (typeof callback === "function") this.once("listening", callback as () => void);
      const hostname = typeof options.host === "string" ? options.host : "::";
      const port = Number(options.port ?? 0);
      const backlog = typeof options.backlog === "number" ? options.backlog : 511;
      let listener: VirtualListener;
      try {
        listener = network.listen(hostname, port, backlog, "server.listen");
      } catch (err) {
        process.nextTick(() => this.emit("error", nodeError(err, "listen", hostname, port)));
        return this;
      }
      const sockets = new Set<ConnSocket>();
      const owned = { close: () => this.#stop() };
      this.#state = { kind: "listening", listener, sockets, owned };
      network.own(owned);
      process.nextTick(() => this.emit("listening"));
      void this.#serve(listener, sockets);
      return this;
    }

    async #serve(listener: VirtualListener, sockets: Set<ConnSocket>): Promise<void> {
      const allowHalfOpen = (this as unknown as { allowHalfOpen?: boolean }).allowHalfOpen === true;
      for await (const conn of listener) {
        const socket = toDuplex(conn, { allowHalfOpen });
        network.alias(socket, conn);
        if (this.maxConnections !== undefined && sockets.size >= this.maxConnections) {
          socket.destroy();
          continue;
        }
        sockets.add(socket);
        socket.once("close", () => {
          sockets.delete(socket);
          if (this.#state.kind === "closed" && sockets.size === 0) this.emit("close");
        });
        this.emit("connection", socket);
      }
    }

    #stop(): void {
      const state = this.#state;
      if (state.kind !== "listening") return;
      this.#state = { kind: "closed" };
      state.listener.close();
      for (const socket of state.sockets) socket.destroy();
    }

    override address(): net.AddressInfo | string | null {
      const state = this.#state;
      if (state.kind === "idle") return super.address();
      if (state.kind === "closed") return null;
      const { hostname, port } = state.listener.addr;
      return { address: hostname, family: hostname.includes(":") ? "IPv6" : "IPv4", port };
    }

    override close(callback?: (err?: Error) => void): this {
      const state = this.#state;
      if (state.kind === "idle") return super.close(callback);
      if (state.kind === "closed") {
        const err = Object.assign(new Error("Server is not running."), { code: "ERR_SERVER_NOT_RUNNING" });
        if (callback) process.nextTick(() => callback(err));
        return this;
      }
      if (callback) this.once("close", () => callback());
      network.disown(state.owned);
      this.#state = { kind: "closed" };
      state.listener.close();
      // Like Node: 'close' once the connections still open have ended (see #serve).
      if (state.sockets.size === 0) process.nextTick(() => this.emit("close"));
      return this;
    }

    override getConnections(callback: (error: Error | null, count: number) => void): this {
      const state = this.#state;
      if (state.kind !== "listening") return super.getConnections(callback);
      process.nextTick(() => callback(null, state.sockets.size));
      return this;
    }

    /** @internal Whether it listens, virtually or for real. */
    get virtualListening(): boolean {
      return this.#state.kind === "listening";
    }

    override ref(): this {
      const state = this.#state;
      if (state.kind === "idle") return super.ref();
      if (state.kind === "listening") state.listener.ref();
      return this;
    }

    override unref(): this {
      const state = this.#state;
      if (state.kind === "idle") return super.unref();
      if (state.kind === "listening") state.listener.unref();
      return this;
    }
  }
  // `listening` is an accessor of net.Server; a virtual server answers it itself.
  const base = Object.getOwnPropertyDescriptor(net.Server.prototype, "listening");
  Object.defineProperty(VirtualServer.prototype, "listening", {
    configurable: true,
    get(this: VirtualServer) {
      return this.virtualListening || (base?.get?.call(this) ?? false);
    },
  });

  return function createServer(...args: unknown[]) {
    const [first, second] = args;
    const options = typeof first === "object" && first !== null ? first as net.ServerOpts : {};
    const listener = typeof first === "function" ? first : second;
    return new VirtualServer(options, listener as (socket: net.Socket) => void);
  } as typeof net.createServer;
}
