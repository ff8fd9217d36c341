/**
 * A virtual network for tests: unmodified code that calls `Deno.connect`,
 * `Deno.listen`, `Deno.serve`, `fetch` or `node:net` reaches in-memory
 * listeners, or real servers the test routes to, with no port opened and
 * with faults on demand (latency, bandwidth, resets, stalls, slicing,
 * half-open peers, partitions), deterministic under a seed.
 *
 * This subpath loads Deno's Node compatibility (`node:net`, `node:http`
 * through `@tether/tether/http`); the rest of tether does not.
 *
 * @example A production app tested without a port, and one fault
 * ```ts
 * import { virtualNetwork } from "@tether/tether/vnet";
 *
 * await using net = virtualNetwork({ seed: 1 });
 * await using _app = Deno.serve({ port: 8000, onListen() {} }, () => Response.json({ status: "ok" }));
 * console.log(await (await fetch("http://localhost:8000/health")).json()); // { status: "ok" }
 *
 * using _down = net.fault({ port: 8000 }, { type: "partition" });
 * const err = await fetch("http://localhost:8000/health").catch((e) => e);
 * console.log(err.cause instanceof Deno.errors.ConnectionRefused); // true
 * ```
 *
 * @module
 */

export {
  type VirtualListenOptions,
  type VirtualNetListener,
  VirtualNetwork,
  virtualNetwork,
  type VirtualNetworkOptions,
  type VirtualRoute,
} from "./network.ts";
export type { Passthrough, PassthroughTarget } from "./_network.ts";
export type { Direction, Fault, FaultEvent, FaultSpec, FaultTarget } from "./faults.ts";
