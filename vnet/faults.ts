/**
 * The faults a virtual network injects on demand, after toxiproxy's toxics:
 * latency with jitter, a bandwidth cap, a reset after N bytes, a peer that
 * stops reading, writes sliced into small random pieces, a half-open peer,
 * and a partition that refuses new connects until it heals. Random draws
 * (jitter, slice sizes) come from the network's seed, per connection and
 * direction, so the same seed replays the same run.
 *
 * @example
 * ```ts
 * import type { FaultSpec } from "@tether/tether/vnet";
 *
 * const slow: FaultSpec = { type: "latency", ms: 50, jitter: 10, direction: "toClient" };
 * console.log(slow.type); // "latency"
 * ```
 *
 * @module
 */

import { describe } from "../_validate.ts";

/**
 * Which way through a connection a fault acts: on the bytes the client
 * sends (`"toServer"`), on those it receives (`"toClient"`), or both (the
 * default).
 *
 * @example
 * ```ts
 * import type { Direction } from "@tether/tether/vnet";
 *
 * const upstream: Direction = "toServer";
 * console.log(upstream); // "toServer"
 * ```
 */
export type Direction = "toServer" | "toClient" | "both";

/**
 * A fault, as {@linkcode VirtualNetwork.fault} takes it:
 *
 * - `latency`: each chunk waits `ms` (± `jitter`, drawn from the seed)
 *   before it goes on; order is kept.
 * - `bandwidth`: at most `bytesPerSecond` go through, in pieces of a
 *   twentieth of a second's worth.
 * - `reset`: after `afterBytes` more bytes (default 0) the connection is
 *   reset: both ends' reads and writes fail with `ECONNRESET`
 *   (`Deno.errors.ConnectionReset`).
 * - `stall`: bytes stop moving; writers fill the window, then wait, as
 *   against a peer that stopped reading. Removing the fault lets them go on.
 * - `slice`: bytes arrive in pieces of `averageSize` ± `variation` bytes
 *   (drawn from the seed), each read separately by a virtual end, with
 *   `delayMs` between pieces.
 * - `halfOpen`: after `afterBytes` more bytes (default 0) the peer is gone
 *   without a word: nothing more arrives, neither data nor EOF nor reset,
 *   writes are swallowed until the window fills, and closes are not told.
 *   It never heals: only the ends' own timeouts get them out.
 * - `partition`: new connects are refused (`ECONNREFUSED`), and the
 *   connections already made go silent; removing it heals them: what was
 *   sent meanwhile is delivered, as TCP retransmits it.
 *
 * @example
 * ```ts
 * import type { FaultSpec } from "@tether/tether/vnet";
 *
 * const faults: FaultSpec[] = [
 *   { type: "latency", ms: 100, jitter: 20 },
 *   { type: "bandwidth", bytesPerSecond: 64 * 1024 },
 *   { type: "reset", afterBytes: 1000, direction: "toClient" },
 *   { type: "stall", direction: "toServer" },
 *   { type: "slice", averageSize: 3, variation: 2 },
 *   { type: "halfOpen", afterBytes: 10 },
 *   { type: "partition" },
 * ];
 * console.log(faults.length); // 7
 * ```
 */
export type FaultSpec =
  | { type: "latency"; ms: number; jitter?: number; direction?: Direction }
  | { type: "bandwidth"; bytesPerSecond: number; direction?: Direction }
  | { type: "reset"; afterBytes?: number; direction?: Direction }
  | { type: "stall"; direction?: Direction }
  | { type: "slice"; averageSize: number; variation?: number; delayMs?: number; direction?: Direction }
  | { type: "halfOpen"; afterBytes?: number; direction?: Direction }
  | { type: "partition" };

/**
 * Where a fault acts: every connection to a host (`{ hostname }`), to one
 * address (`{ hostname, port }`), on a port of any host (`{ port }`), every
 * connection (`{}`), or one connection: a conn of either end that the
 * network made (a `Deno.Conn` from `Deno.connect` or `accept()`, a tether
 * conn from {@linkcode VirtualNetwork.listen}, or a `net.Socket` from
 * `node:net`). An address covers the connections made later, too.
 *
 * @example
 * ```ts
 * import type { FaultTarget } from "@tether/tether/vnet";
 *
 * const db = { hostname: "db.internal", port: 5432 } satisfies FaultTarget;
 * console.log(db.hostname); // "db.internal"
 * ```
 */
export type FaultTarget = { hostname?: string; port?: number } | object;

/**
 * A fault in force, as {@linkcode VirtualNetwork.fault} returns it;
 * `remove()` (or leaving a `using` block) lifts it: a stall or partition
 * heals, delays end for the chunks that come next.
 *
 * @example
 * ```ts
 * import { virtualNetwork } from "@tether/tether/vnet";
 *
 * await using net = virtualNetwork();
 * {
 *   using _partition = net.fault({ hostname: "db.internal" }, { type: "partition" });
 *   const err = await Deno.connect({ hostname: "db.internal", port: 5432 }).catch((e) => e);
 *   console.log(err instanceof Deno.errors.ConnectionRefused); // true
 * } // healed here
 * ```
 */
export interface Fault extends Disposable {
  /** The fault, as given (with defaults filled in). */
  readonly spec: Readonly<FaultSpec>;
  /** Whether it is still in force. */
  readonly active: boolean;
  /** Lifts the fault; idempotent. */
  remove(): void;
}

/**
 * What a fault did, as the network's `trace` option hears it: enough to
 * see that a seed replays the same run.
 *
 * @example
 * ```ts
 * import { type FaultEvent, virtualNetwork } from "@tether/tether/vnet";
 *
 * const events: FaultEvent[] = [];
 * await using net = virtualNetwork({ seed: 7, trace: (event) => events.push(event) });
 * console.log(net.seed, events.length); // 7 0
 * ```
 */
export interface FaultEvent {
  /** The connection's number in this network, from 1, in the order connects were made. */
  readonly connection: number;
  /** Which way the bytes were going. */
  readonly direction: "toServer" | "toClient";
  /** The fault that acted. */
  readonly type: FaultSpec["type"];
  /**
   * What it did: the delay in ms (latency, bandwidth), the piece's size
   * (slice), the bytes counted when it struck (reset, halfOpen).
   */
  readonly value: number;
}

/** A fault spec checked, with its defaults. Private to `vnet/`. */
export type CheckedSpec = FaultSpec & { direction: Direction };

const TYPES = new Set(["latency", "bandwidth", "reset", "stall", "slice", "halfOpen", "partition"]);

/** Checks a fault spec, throwing `TypeError`/`RangeError` naming the bad field. */
export function checkSpec(spec: FaultSpec): CheckedSpec {
  if (spec === null || typeof spec !== "object") {
    throw new TypeError(`fault() takes a fault spec object, got ${describe(spec)}`);
  }
  if (!TYPES.has(spec.type)) {
    throw new TypeError(
      `unknown fault type ${describe(spec.type)}: expected one of ${[...TYPES].join(", ")}`,
    );
  }
  const direction = (spec as { direction?: unknown }).direction ?? "both";
  if (direction !== "toServer" && direction !== "toClient" && direction !== "both") {
    throw new TypeError(`direction must be "toServer", "toClient" or "both", got ${describe(direction)}`);
  }
  switch (spec.type) {
    case "latency":
      amount(spec.ms, "latency ms");
      amount(spec.jitter ?? 0, "latency jitter");
      break;
    case "bandwidth":
      amount(spec.bytesPerSecond, "bandwidth bytesPerSecond");
      if (spec.bytesPerSecond < 1) throw new RangeError("bandwidth bytesPerSecond must be at least 1");
      break;
    case "reset":
    case "halfOpen":
      amount(spec.afterBytes ?? 0, `${spec.type} afterBytes`);
      break;
    case "slice":
      amount(spec.averageSize, "slice averageSize");
      if (spec.averageSize < 1) throw new RangeError("slice averageSize must be at least 1 byte");
      amount(spec.variation ?? 0, "slice variation");
      amount(spec.delayMs ?? 0, "slice delayMs");
      break;
  }
  return { ...spec, direction } as CheckedSpec;
}

function amount(value: unknown, what: string): void {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new TypeError(`${what} must be a finite number, got ${describe(value)}`);
  }
  if (value < 0) throw new RangeError(`${what} must be 0 or more, got ${value}`);
}

/** Whether a fault acting `direction` acts on bytes going `way`. */
export function actsOn(direction: Direction, way: "toServer" | "toClient"): boolean {
  return direction === "both" || direction === way;
}
