/**
 * The options of `mux()`: what each means, their defaults, and their
 * checks. The public ones are exported by `mod.ts`. Private to `mux/`.
 *
 * @module
 */

import type { Conn } from "../conn.ts";
import { checkWhole, describe, MAX_TIMEOUT, refusal } from "../_validate.ts";
import { INITIAL_WINDOW } from "./const.ts";
import { connWhere } from "../_where.ts";

/**
 * Options of {@linkcode mux}.
 *
 * @example
 * ```ts
 * import type { MuxOptions } from "@tether/tether/mux";
 *
 * const options: MuxOptions = {
 *   role: "client",
 *   window: 1024 * 1024, // each stream starts with 1 MiB of credit for the peer
 *   maxStreams: 100,
 *   keepAlive: 15_000, // ping every 15 s; a peer that stops answering ends the session
 * };
 * console.log(options.role); // "client"
 * ```
 */
export interface MuxOptions {
  /**
   * Which end this is. The client opens odd stream ids and the server even
   * ones, so the two ends must differ: the end that dialed is usually the
   * client.
   */
  role: "client" | "server";
  /**
   * The receive window each stream starts with: how many bytes the peer may
   * send on it before its reader takes any. At least the spec's 256 KiB
   * (the default); a larger one is announced with the stream's SYN or ACK.
   */
  window?: number;
  /**
   * The most a stream's receive window grows to while its reader keeps up
   * with a fast sender; default 16 MiB. Equal to `window`, windows never grow.
   */
  maxWindow?: number;
  /**
   * Bytes the session may add to receive windows beyond `window`, summed
   * over all its streams; default 64 MiB. What the peer can make this side
   * buffer is at most `window` per stream plus this.
   */
  windowBudget?: number;
  /**
   * The most streams open at once in each direction; default 1000. A stream
   * the peer opens past it is refused with a reset; `open()` past it
   * rejects with a temporary `ConnError` (`ESTREAMLIMIT`).
   */
  maxStreams?: number;
  /**
   * How many streams the peer opened may wait unaccepted; more are refused
   * with a reset. Default `maxStreams`: a burst of opens is taken whole,
   * and what waits is bounded by the stream limit anyway.
   */
  acceptBacklog?: number;
  /**
   * Pings the peer every this many milliseconds and ends the session, with a
   * timeout error on every stream, when a ping goes unanswered that long.
   * Off by default.
   */
  keepAlive?: number;
  /** Closes the session when it aborts, as `close()` does. */
  signal?: AbortSignal;
}

/**
 * The default {@linkcode MuxOptions.maxWindow}: 16 MiB.
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_WINDOW, mux } from "@tether/tether/mux";
 * import { pipe } from "@tether/tether";
 *
 * const [a] = pipe();
 * using _session = mux(a, { role: "client", maxWindow: DEFAULT_MAX_WINDOW * 4 }); // for a long fat link
 * console.log(DEFAULT_MAX_WINDOW); // 16777216
 * ```
 */
export const DEFAULT_MAX_WINDOW = 16 * 1024 * 1024;
/**
 * The default {@linkcode MuxOptions.windowBudget}: 64 MiB.
 *
 * @example
 * ```ts
 * import { DEFAULT_WINDOW_BUDGET, mux } from "@tether/tether/mux";
 * import { pipe } from "@tether/tether";
 *
 * const [a] = pipe();
 * using _session = mux(a, { role: "server", windowBudget: DEFAULT_WINDOW_BUDGET / 4 }); // a small device
 * console.log(DEFAULT_WINDOW_BUDGET / (1024 * 1024)); // 64
 * ```
 */
export const DEFAULT_WINDOW_BUDGET = 64 * 1024 * 1024;
/**
 * The default {@linkcode MuxOptions.maxStreams}: 1000 each way.
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_STREAMS, mux } from "@tether/tether/mux";
 * import { pipe } from "@tether/tether";
 *
 * const [a] = pipe();
 * using _session = mux(a, { role: "client", maxStreams: DEFAULT_MAX_STREAMS * 10 });
 * console.log(DEFAULT_MAX_STREAMS); // 1000
 * ```
 */
export const DEFAULT_MAX_STREAMS = 1000;
/** The largest window the options take: a window delta must fit 32 bits, twice over. */
const MAX_WINDOW_LIMIT = 1024 * 1024 * 1024;

/** The options, checked, with their defaults filled in. */
export interface Checked {
  window: number;
  maxWindow: number;
  windowBudget: number;
  maxStreams: number;
  acceptBacklog: number;
  keepAlive: number | undefined;
}

/** Checks `mux()`'s arguments: a TypeError or RangeError naming a bad one, the refusal of an aborted signal. */
export function checkOptions(conn: Conn, options: MuxOptions): Checked {
  if (conn === null || typeof conn !== "object" || typeof conn.read !== "function") {
    throw new TypeError(`mux() takes a Conn, got ${describe(conn)}`);
  }
  if (options === null || typeof options !== "object") {
    throw new TypeError(`mux() takes an options object with a role, got ${describe(options)}`);
  }
  const { role } = options;
  if (role !== "client" && role !== "server") {
    throw new TypeError(`role must be "client" or "server", got ${describe(role)}`);
  }
  const window = checkWhole(options.window, "window", INITIAL_WINDOW, MAX_WINDOW_LIMIT, INITIAL_WINDOW);
  const maxWindow = checkWhole(
    options.maxWindow,
    "maxWindow",
    window,
    MAX_WINDOW_LIMIT,
    Math.max(DEFAULT_MAX_WINDOW, window),
  );
  const maxStreams = checkWhole(options.maxStreams, "maxStreams", 1, 2 ** 31, DEFAULT_MAX_STREAMS);
  const checked: Checked = {
    window,
    maxWindow,
    windowBudget: checkWhole(
      options.windowBudget,
      "windowBudget",
      0,
      Number.MAX_SAFE_INTEGER,
      DEFAULT_WINDOW_BUDGET,
    ),
    maxStreams,
    acceptBacklog: checkWhole(options.acceptBacklog, "acceptBacklog", 1, 2 ** 31, maxStreams),
    keepAlive: options.keepAlive === undefined
      ? undefined
      : checkWhole(options.keepAlive, "keepAlive", 1, MAX_TIMEOUT),
  };
  const refused = refusal(options, { op: "mux", addr: connWhere(conn) });
  if (refused !== undefined) throw refused;
  return checked;
}
