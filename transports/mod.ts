/**
 * `listen()` and `connect()`: one entry point for every transport, chosen by
 * the `transport` option, with the option shapes of `Deno.listen` and
 * `Deno.connect`.
 *
 * @example
 * ```ts
 * import { connect, listen } from "@tether/tether";
 *
 * await using listener = listen({ transport: "memory", name: "svc" });
 * const dialing = connect({ transport: "memory", name: "svc" });
 * await using _server = await listener.accept();
 * await using client = await dialing;
 * console.log(client.remoteAddr); // { transport: "memory", address: "svc" }
 * ```
 *
 * @module
 */

import type { Conn } from "../conn.ts";
import { describe } from "../conn.ts";
import type { Listener } from "../listener.ts";
import {
  connectMemory,
  listenMemory,
  type MemoryConnectOptions,
  type MemoryListener,
  type MemoryListenOptions,
} from "./memory.ts";
import {
  connectTcp,
  connectUnix,
  listenTcp,
  listenUnix,
  type TcpConnectOptions,
  type TcpListenOptions,
  type UnixConnectOptions,
  type UnixListenOptions,
} from "./socket.ts";
import { connectPipe, listenPipe, type PipeConnectOptions, type PipeListenOptions } from "./npipe.ts";
import type { SocketConn } from "./socket_conn.ts";
import type { SocketListener } from "./socket_listener.ts";

/**
 * The options of any {@linkcode listen}.
 *
 * @example
 * ```ts
 * import { listen, type ListenOptions } from "@tether/tether";
 *
 * const options: ListenOptions = { transport: "tcp", hostname: "127.0.0.1", port: 0 };
 * await using _listener = await listen(options);
 * ```
 */
export type ListenOptions = MemoryListenOptions | UnixListenOptions | TcpListenOptions | PipeListenOptions;

/**
 * The options of any {@linkcode connect}.
 *
 * @example
 * ```ts
 * import { connect, type ConnectOptions } from "@tether/tether";
 *
 * const options: ConnectOptions = { transport: "memory", name: "nowhere" };
 * await connect(options).catch((err) => console.log(err.name)); // "ConnectionRefusedError"
 * ```
 */
export type ConnectOptions =
  | MemoryConnectOptions
  | UnixConnectOptions
  | TcpConnectOptions
  | PipeConnectOptions;

/**
 * Listens on the transport named by `options.transport`.
 *
 * @example
 * ```ts
 * import { listen } from "@tether/tether";
 *
 * using listener = listen({ transport: "memory", name: "api", backlog: 8 });
 * console.log(listener.addr); // { transport: "memory", address: "api" }
 * ```
 */
export function listen(options: MemoryListenOptions): MemoryListener;
/** Listens on a Unix socket or a TCP port; see {@linkcode listenUnix} and {@linkcode listenTcp}. */
export function listen(options: UnixListenOptions | TcpListenOptions): Promise<SocketListener>;
/** Listens on a named pipe; see {@linkcode listenPipe}. */
export function listen(options: PipeListenOptions): Promise<Listener>;
/** Listens on whichever transport the options name. */
export function listen(options: ListenOptions): MemoryListener | Promise<Listener>;
export function listen(options: ListenOptions): MemoryListener | Promise<Listener> {
  const transport = transportOf(options);
  switch (transport) {
    case "memory":
      return listenMemory(options as MemoryListenOptions);
    case "unix":
      return listenUnix(options as UnixListenOptions);
    case "tcp":
      return listenTcp(options as TcpListenOptions);
    case "pipe":
      return listenPipe(options as PipeListenOptions);
  }
  throw unknownTransport(transport);
}

/**
 * Connects over the transport named by `options.transport`.
 *
 * @example
 * ```ts
 * import { connect, listen } from "@tether/tether";
 *
 * using listener = listen({ transport: "memory", name: "cache" });
 * const dialing = connect({ transport: "memory", name: "cache", signal: AbortSignal.timeout(1000) });
 * using _server = await listener.accept();
 * using conn = await dialing;
 * console.log(conn.localAddr.transport); // "memory"
 * ```
 */
export function connect(options: MemoryConnectOptions): Promise<Conn>;
/** Connects to a Unix socket or a TCP port; see {@linkcode connectUnix} and {@linkcode connectTcp}. */
export function connect(options: UnixConnectOptions | TcpConnectOptions): Promise<SocketConn>;
/** Connects to a named pipe, waiting for it within the signal; see {@linkcode connectPipe}. */
export function connect(options: PipeConnectOptions): Promise<Conn>;
/** Connects over whichever transport the options name. */
export function connect(options: ConnectOptions): Promise<Conn>;
export function connect(options: ConnectOptions): Promise<Conn> {
  try {
    const transport = transportOf(options);
    switch (transport) {
      case "memory":
        return connectMemory(options as MemoryConnectOptions);
      case "unix":
        return connectUnix(options as UnixConnectOptions);
      case "tcp":
        return connectTcp(options as TcpConnectOptions);
      case "pipe":
        return connectPipe(options as PipeConnectOptions);
    }
    throw unknownTransport(transport);
  } catch (err) {
    return Promise.reject(err);
  }
}

function transportOf(options: unknown): unknown {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`expected an options object with a transport, got ${describe(options)}`);
  }
  return (options as { transport?: unknown }).transport;
}

function unknownTransport(transport: unknown): TypeError {
  return new TypeError(
    `unknown transport ${describe(transport)}: expected "memory", "unix", "tcp" or "pipe"`,
  );
}
