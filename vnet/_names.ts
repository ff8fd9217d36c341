/**
 * How a virtual network names things: hosts are the names code uses, with
 * no DNS; the loopback and wildcard names are one host, this one. Private to
 * `vnet/`.
 *
 * @module
 */

import type { NetAddr } from "../conn.ts";
import { describe } from "../_validate.ts";

/** The key of this host: what `localhost`, `127.0.0.1`, `::1`, `0.0.0.0` and `::` all name. */
export const LOCAL = "(this host)";

/** A host and port as code gives them, and the host's key in the network's table. */
export interface Place {
  /** The hostname as reported back (`localhost` reported as `127.0.0.1`, as Deno does). */
  readonly hostname: string;
  readonly port: number;
  /** Which host it is: {@linkcode LOCAL}, or the lower-cased name. */
  readonly host: string;
}

/** An IPv6 host without its brackets; names lower-cased. */
export function normalHost(hostname: string): string {
  const bare = hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
  return bare.toLowerCase();
}

/** Whether `hostname` (normalized) names this host: loopback, wildcard or `localhost`. */
export function isLocal(hostname: string): boolean {
  return hostname === "localhost" || hostname === "0.0.0.0" || hostname === "::" || hostname === "::1" ||
    hostname === "" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname) || hostname === "::ffff:127.0.0.1";
}

/** The place `hostname:port` names; throws a `TypeError` for a port that is not one. */
export function placeOf(hostname: string, port: unknown, fn: string): Place {
  if (typeof hostname !== "string") {
    throw new TypeError(`${fn}: hostname must be a string, got ${describe(hostname)}`);
  }
  checkPort(port, fn);
  const name = normalHost(hostname);
  const reported = name === "localhost" ? "127.0.0.1" : name === "" ? "0.0.0.0" : name;
  return { hostname: reported, port, host: isLocal(name) ? LOCAL : name };
}

/** Checks a port number as `Deno.listen` does: a whole number from 0 to 65535. */
export function checkPort(port: unknown, fn: string): asserts port is number {
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`${fn}: port must be a whole number from 0 to 65535, got ${describe(port)}`);
  }
}

/** A tether TCP address for `hostname:port`. */
export function netAddr(hostname: string, port: number): NetAddr {
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  return { transport: "tcp", address: `${host}:${port}`, hostname, port };
}

/** `host:port` for messages, IPv6 in brackets. */
export function hostPort(hostname: string, port: number): string {
  return `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
}

/** The first port handed out for port 0 and to clients, as a kernel's ephemeral range starts. */
const FIRST_EPHEMERAL = 32768;
const LAST_EPHEMERAL = 60999;

/**
 * Which ports of which hosts are taken, by what. Port 0 gets the next free
 * port of the ephemeral range; clients' own ports come from the same range.
 */
export class PortTable<T> {
  #hosts = new Map<string, Map<number, T>>();
  #next = FIRST_EPHEMERAL;

  /** What holds `place`, if anything. */
  get(host: string, port: number): T | undefined {
    return this.#hosts.get(host)?.get(port);
  }

  /** Takes `port` of `host` for `value`; `false` if it is taken. */
  take(host: string, port: number, value: T): boolean {
    let ports = this.#hosts.get(host);
    if (ports === undefined) this.#hosts.set(host, ports = new Map());
    if (ports.has(port)) return false;
    ports.set(port, value);
    return true;
  }

  /** Frees `port` of `host` if `value` holds it. */
  free(host: string, port: number, value: T): void {
    const ports = this.#hosts.get(host);
    if (ports?.get(port) === value) ports.delete(port);
  }

  /** The next ephemeral port not taken on `host`. */
  ephemeral(host: string): number {
    const ports = this.#hosts.get(host);
    for (let tries = 0; tries <= LAST_EPHEMERAL - FIRST_EPHEMERAL; tries++) {
      const port = this.#next;
      this.#next = port === LAST_EPHEMERAL ? FIRST_EPHEMERAL : port + 1;
      if (!ports?.has(port)) return port;
    }
    throw new RangeError(`every ephemeral port of the virtual host ${host} is taken`);
  }

  /** Everything that holds a port. */
  *values(): IterableIterator<T> {
    for (const ports of this.#hosts.values()) yield* ports.values();
  }
}
