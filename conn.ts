/**
 * The contract: the one connection shape every transport returns.
 *
 * A {@linkcode Conn} is a pair of Web Streams plus `read`/`write` calls with
 * `AbortSignal` deadlines, shaped like `Deno.Conn`, so code written against
 * it runs unchanged over an in-memory pipe, a Unix socket, TCP or anything
 * else that keeps the rules. The rules themselves are in
 * [docs/conn.md](https://jsr.io/@tether/tether/doc/docs/conn.md) and checked
 * by the conformance kit in `@tether/tether/testing`.
 *
 * @example A pipe
 * ```ts
 * import { pipe } from "@tether/tether";
 *
 * const [a, b] = pipe();
 * await a.write(new TextEncoder().encode("hi"));
 * const buf = new Uint8Array(16);
 * const n = await b.read(buf);
 * console.log(new TextDecoder().decode(buf.subarray(0, n!))); // "hi"
 * ```
 *
 * @module
 */

/**
 * The transport an {@linkcode Addr} names: one of tether's own, or any name
 * a transport of your own uses (`"websocket"`, `"serial"`...).
 *
 * @example
 * ```ts
 * import type { Transport } from "@tether/tether";
 *
 * const kinds: Transport[] = ["memory", "unix", "tcp", "pipe", "worker", "websocket"];
 * console.log(kinds.length); // 6
 * ```
 */
// deno-lint-ignore ban-types
export type Transport = "memory" | "unix" | "tcp" | "pipe" | "worker" | (string & {});

/**
 * Where one end of a connection is.
 *
 * @example
 * ```ts
 * import { type Addr, pipe } from "@tether/tether";
 *
 * const [a] = pipe();
 * const addr: Addr = a.remoteAddr;
 * console.log(`${addr.transport}:${addr.address}`); // "memory:pipe"
 * ```
 */
export interface Addr {
  /** The transport the connection runs over. */
  readonly transport: Transport;
  /** The address within that transport: a name, a path or `host:port` (IPv6 hosts in brackets). */
  readonly address: string;
  /** The host, for network addresses (TCP): a name, an IPv4 or an IPv6 address without brackets. */
  readonly hostname?: string;
  /** The port, for network addresses (TCP). */
  readonly port?: number;
}

/**
 * A TCP address: an {@linkcode Addr} with its host and port apart, as in
 * `Deno.NetAddr`, so connecting to a listener never means parsing
 * `address`.
 *
 * @example
 * ```ts
 * import { connect, listen } from "@tether/tether";
 *
 * await using listener = await listen({ transport: "tcp", hostname: "::1", port: 0 });
 * const { hostname, port } = listener.addr; // "::1" and the port picked
 * await using conn = await connect({ transport: "tcp", hostname, port });
 * console.log(listener.addr.address === `[::1]:${port}`); // true
 * ```
 */
export interface NetAddr extends Addr {
  /** The TCP transport. */
  readonly transport: "tcp";
  /** The host: a name, an IPv4 or an IPv6 address (without brackets). */
  readonly hostname: string;
  /** The port. */
  readonly port: number;
}

/**
 * Options of a single call: its deadline or cancellation.
 *
 * @example
 * ```ts
 * import { type CallOptions, pipe } from "@tether/tether";
 *
 * const [a] = pipe();
 * const options: CallOptions = { signal: AbortSignal.timeout(50) };
 * const err = await a.read(new Uint8Array(1), options).catch((e) => e);
 * console.log(err.name); // "TimeoutError"
 * ```
 */
export interface CallOptions {
  /**
   * Aborting it makes the call reject with `signal.reason`; an already-aborted
   * signal fails at once. `AbortSignal.timeout(ms)` makes a deadline.
   */
  signal?: AbortSignal;
}

/**
 * A bidirectional byte stream between two ends, with the shape of
 * `Deno.Conn`.
 *
 * @example Reading until EOF
 * ```ts
 * import { type Conn, pipe } from "@tether/tether";
 *
 * async function drain(conn: Conn): Promise<number> {
 *   let total = 0;
 *   const buf = new Uint8Array(1024);
 *   for (let n; (n = await conn.read(buf)) !== null;) total += n;
 *   return total;
 * }
 * const [a, b] = pipe();
 * await a.write(new Uint8Array(10));
 * await a.closeWrite();
 * console.log(await drain(b)); // 10
 * ```
 */
export interface Conn extends AsyncDisposable, Disposable {
  /** This end's address. */
  readonly localAddr: Addr;
  /** The peer's address. */
  readonly remoteAddr: Addr;
  /** The bytes the peer sends, as a byte stream; it ends when the peer half-closes. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes to send; closing it half-closes, aborting it closes the conn. */
  readonly writable: WritableStream<Uint8Array>;
  /**
   * Reads into `p`; resolves with the number of bytes read, or `null` at EOF.
   * An aborted read consumed nothing.
   */
  read(p: Uint8Array, options?: CallOptions): Promise<number | null>;
  /**
   * Writes all of `p`; resolves with `p.length` once the conn no longer needs
   * `p`. An aborted write may have delivered a prefix of `p`.
   */
  write(p: Uint8Array, options?: CallOptions): Promise<number>;
  /** Half-closes: the peer reads EOF after the bytes already written. */
  closeWrite(): Promise<void>;
  /** Closes both directions; idempotent. Pending reads and writes reject. */
  close(): void;
  /** Settles once both directions are done; never rejects. */
  readonly closed: Promise<void>;
}

/**
 * The default window of queued bytes per direction: 64 KiB.
 *
 * @example
 * ```ts
 * import { DEFAULT_BUFFER_SIZE, pipe } from "@tether/tether";
 *
 * const [a] = pipe({ bufferSize: DEFAULT_BUFFER_SIZE * 4 });
 * a.close();
 * ```
 */
export const DEFAULT_BUFFER_SIZE = 64 * 1024;

/**
 * Formats an address for messages: `memory:echo`, `unix:/run/x.sock`,
 * `tcp:[::1]:8080`; the unnamed end of a Unix socket (a client's own
 * address) shows as `unix:(unnamed peer)`.
 *
 * @example
 * ```ts
 * import { formatAddr } from "@tether/tether";
 *
 * console.log(formatAddr({ transport: "unix", address: "/run/app.sock" })); // "unix:/run/app.sock"
 * ```
 */
export function formatAddr(addr: Addr): string {
  return `${addr.transport}:${addr.address === "" ? "(unnamed peer)" : addr.address}`;
}
