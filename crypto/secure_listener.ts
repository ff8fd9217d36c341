/**
 * `secureListener()` and `secureDialer()`: `secure()` at both ends of a
 * listener, so that whatever takes a `Listener` or a `Dialer` (`serveHttp`,
 * `createFetch`, netchan, the kit) gets encrypted conns without a line of
 * handshake code.
 *
 * @module
 */

import { type Addr, type CallOptions, type Conn, formatAddr } from "../conn.ts";
import type { Dialer, Listener } from "../listener.ts";
import { acceptLoop, AcceptQueue, ListenerBase } from "../accept_queue.ts";
import { abortError } from "../errors.ts";
import { checkOptions, checkWhole, describe, MAX_TIMEOUT } from "../_validate.ts";
import { type Waiter, waiter } from "../_async/waiter.ts";
import type { SecureConn } from "./records.ts";
import { checkSecureOptions, secure, type SecureOptions } from "./secure.ts";

/**
 * The handshake options both ends share: those of `secure()` but its
 * `role` (each function knows its side) and `signal` (per call).
 *
 * @example
 * ```ts
 * import type { SecureEndOptions } from "@tether/tether/crypto";
 *
 * const psk = crypto.getRandomValues(new Uint8Array(32));
 * const options: SecureEndOptions = { pattern: "NNpsk0", psk, cipher: "ChaChaPoly" };
 * console.log(options.pattern); // "NNpsk0"
 * ```
 */
export type SecureEndOptions = Omit<SecureOptions, "role" | "signal">;

/**
 * Options of {@linkcode secureListener}.
 *
 * @example
 * ```ts
 * import type { SecureListenerOptions } from "@tether/tether/crypto";
 *
 * const options: SecureListenerOptions = {
 *   handshakeTimeout: 2000,
 *   onError: (err) => console.warn("a peer failed its handshake:", err.message),
 * };
 * console.log(options.handshakeTimeout); // 2000
 * ```
 */
export interface SecureListenerOptions extends SecureEndOptions {
  /** Milliseconds a peer may take to complete its handshake; default 10000 (at most 2147483647). */
  handshakeTimeout?: number;
  /**
   * How many conns may be between the inner listener and `accept()`:
   * handshaking, or handshaken and not yet accepted; default 32. Past it the
   * inner listener is not accepted from, so further connects wait in its
   * own backlog (the kernel's, for a socket).
   */
  backlog?: number;
  /**
   * Told of each peer that failed its handshake (the error names its conn,
   * which is closed). Nothing else sees those peers: `accept()` yields only
   * conns whose handshake succeeded. An `onError` that throws is ignored:
   * the listener carries on.
   */
  onError?: (error: Error) => void;
}

/**
 * A {@linkcode Dialer} whose conns are {@linkcode SecureConn}s, handshaken:
 * what {@linkcode secureDialer} returns.
 *
 * @example
 * ```ts
 * import { listen } from "@tether/tether";
 * import { type SecureDialer, secureDialer } from "@tether/tether/crypto";
 *
 * const listener = listen({ transport: "memory" });
 * const dialer: SecureDialer = secureDialer(listener.dialer());
 * console.log(typeof dialer.dial); // "function"
 * listener.close();
 * ```
 */
export interface SecureDialer extends Dialer {
  /** Connects and runs the handshake, both within the signal. */
  dial(options?: CallOptions): Promise<SecureConn>;
}

const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;
const DEFAULT_BACKLOG = 32;

/**
 * Wraps a listener so that it yields {@linkcode SecureConn}s: each conn the
 * inner listener accepts runs its handshake (as the responder) in the
 * background, many at once, and reaches `accept()` only once it has
 * succeeded. A peer that fails its handshake, sends garbage or says nothing
 * for `handshakeTimeout` is closed and told to `onError`; it never holds up
 * the others. Closing the secure listener closes the inner one and the
 * conns not yet accepted.
 *
 * @example An encrypted echo server over a memory listener
 * ```ts
 * import { listen } from "@tether/tether";
 * import { secureDialer, secureListener } from "@tether/tether/crypto";
 *
 * const psk = crypto.getRandomValues(new Uint8Array(32));
 * const inner = listen({ transport: "memory" });
 * await using listener = secureListener(inner, { pattern: "NNpsk0", psk });
 * const conn = await secureDialer(inner.dialer(), { pattern: "NNpsk0", psk }).dial();
 * const served = await listener.accept();
 * await conn.write(new TextEncoder().encode("hi"));
 * const buf = new Uint8Array(2);
 * await served.read(buf);
 * console.log(new TextDecoder().decode(buf)); // "hi"
 * conn.close();
 * served.close();
 * ```
 */
export function secureListener(
  listener: Listener,
  options: SecureListenerOptions = {},
): Listener<SecureConn> {
  checkOptions(options, "secureListener");
  const { handshakeTimeout = DEFAULT_HANDSHAKE_TIMEOUT, backlog = DEFAULT_BACKLOG, onError, ...handshake } =
    options;
  checkWhole(handshakeTimeout, "handshakeTimeout", 1, MAX_TIMEOUT);
  checkWhole(backlog, "backlog", 1, Number.MAX_SAFE_INTEGER);
  if (onError !== undefined && typeof onError !== "function") {
    throw new TypeError(`onError must be a function, got ${describe(onError)}`);
  }
  if ("role" in handshake || "signal" in handshake) {
    throw new TypeError(
      "secureListener takes no role (it is the responder) and no signal (close it instead)",
    );
  }
  checkSecureOptions({ ...handshake, role: "responder" });
  return new SecureListener(listener, { handshake, handshakeTimeout, backlog, onError });
}

/**
 * Wraps a dialer so that each conn it dials runs its handshake (as the
 * initiator) before `dial()` resolves. The dial's signal covers the connect
 * and the handshake; a failed handshake closes the conn and rejects with
 * its typed error (`HandshakeError`, `ProtocolError`, ...).
 *
 * @example Encrypted conns to a TCP server
 * ```ts
 * import { dialer } from "@tether/tether";
 * import { secureDialer } from "@tether/tether/crypto";
 *
 * const psk = crypto.getRandomValues(new Uint8Array(32));
 * const dial = secureDialer(dialer({ transport: "tcp", hostname: "127.0.0.1", port: 8443 }), {
 *   pattern: "NNpsk0",
 *   psk,
 * });
 * console.log(typeof dial.dial); // "function"
 * ```
 */
export function secureDialer(dialer: Dialer, options: SecureEndOptions = {}): SecureDialer {
  checkOptions(options, "secureDialer");
  if (dialer === null || typeof dialer !== "object" || typeof dialer.dial !== "function") {
    throw new TypeError(`secureDialer needs a Dialer (an object with dial()), got ${describe(dialer)}`);
  }
  if ("role" in options || "signal" in options) {
    throw new TypeError("secureDialer takes no role (it is the initiator) and no signal (give it to dial())");
  }
  checkSecureOptions({ ...options, role: "initiator" });
  return {
    async dial(callOptions?: CallOptions): Promise<SecureConn> {
      const conn = await dialer.dial(callOptions);
      return secure(conn, { ...options, role: "initiator", signal: callOptions?.signal });
    },
  };
}

/** Tells `onError`; one that throws is the caller's bug, and must not take the listener down with it. */
function tell(onError: ((error: Error) => void) | undefined, error: Error): void {
  try {
    onError?.(error);
  } catch {
    // Left to the caller's own handler: this listener carries on.
  }
}

interface Settings {
  readonly handshake: SecureEndOptions;
  readonly handshakeTimeout: number;
  readonly backlog: number;
  readonly onError?: (error: Error) => void;
}

/**
 * The listener: one loop takes raw conns while fewer than `backlog` are in
 * its hands, each runs its handshake by itself, and a conn that succeeds is
 * handed to the next `accept()`, holding its place until taken.
 */
class SecureListener extends ListenerBase<SecureConn> {
  readonly addr: Addr;
  readonly #inner: Listener;
  readonly #settings: Settings;
  readonly #queue: AcceptQueue<SecureConn>;
  readonly #lifetime = new AbortController();
  /** Conns taken from the inner listener and not yet accepted from this one. */
  #inHand = 0;
  /** Wakes the loop waiting for a conn in hand to be accepted (or to fail), if it waits. */
  #room: Waiter<void> | null = null;

  constructor(inner: Listener, settings: Settings) {
    super();
    this.#inner = inner;
    this.addr = inner.addr;
    this.#settings = settings;
    this.#queue = new AcceptQueue({ addr: formatAddr(inner.addr) });
    this.#run();
  }

  accept(options?: CallOptions): Promise<SecureConn> {
    return this.#queue.accept(options);
  }

  close(): void {
    if (this.#lifetime.signal.aborted) return;
    this.#lifetime.abort();
    this.#inner.close();
    this.#queue.close((conn) => conn.close());
    this.#room?.resolve();
  }

  async #run(): Promise<void> {
    const conns = acceptLoop(this.#inner);
    try {
      for await (const raw of conns) {
        if (this.#lifetime.signal.aborted) {
          raw.close();
          break;
        }
        this.#inHand++;
        this.#handshake(raw);
        while (this.#inHand >= this.#settings.backlog && !this.#lifetime.signal.aborted) {
          await (this.#room = waiter<void>()).promise;
        }
      }
    } catch (err) {
      // The inner listener failed for good: this one ends with it.
      if (!this.#lifetime.signal.aborted && err instanceof Error) tell(this.#settings.onError, err);
    }
    this.close();
  }

  async #handshake(raw: Conn): Promise<void> {
    const { handshake, handshakeTimeout, onError } = this.#settings;
    const timeout = AbortSignal.timeout(handshakeTimeout);
    const signal = AbortSignal.any([this.#lifetime.signal, timeout]);
    try {
      const conn = await secure(raw, { ...handshake, role: "responder", signal });
      await this.#queue.handOff(conn); // rejects (the conn closed) if this listener closes first
    } catch (err) {
      if (this.#lifetime.signal.aborted) return;
      const error = timeout.aborted
        ? abortError(timeout.reason, {
          op: "handshake",
          addr: formatAddr(raw.remoteAddr),
          detail: `the peer did not complete its handshake within ${handshakeTimeout} ms`,
        })
        : err instanceof Error
        ? err
        : new Error(String(err));
      tell(onError, error);
    } finally {
      this.#inHand--;
      this.#room?.resolve();
    }
  }
}
