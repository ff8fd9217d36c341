/**
 * The errors tether raises, in one place, with their messages composed here.
 *
 * Every error that comes from a connection, a listener or a peer extends
 * {@linkcode ConnError}, which carries a stable `code`, the `op` that failed
 * and the `addr` it failed on, and the `timeout` and `temporary` flags of
 * Go's `net.Error`: a caller can retry a temporary error, and can tell a
 * deadline from a failure. The message is built from those fields, as
 * `op addr: what happened (detail)`, so every error names what was being done
 * and where. Invalid arguments to a function are the platform's own
 * `TypeError` and `RangeError`, as with `Deno.listen`.
 *
 * @example Telling errors apart
 * ```ts
 * import { ConnClosedError, ConnError, pipe } from "@tether/tether";
 *
 * const [a] = pipe();
 * a.close();
 * try {
 *   await a.write(new Uint8Array([1]));
 * } catch (err) {
 *   if (err instanceof ConnClosedError) console.log(err.code, err.op); // "EPIPE" "write"
 *   if (err instanceof ConnError && err.temporary) console.log("retry");
 * }
 * ```
 *
 * @module
 */

/**
 * Where and in what an error happened, and why: what every error class
 * takes.
 *
 * @example
 * ```ts
 * import { type ErrorContext, ProtocolError } from "@tether/tether";
 *
 * const context: ErrorContext = { op: "receive", addr: "unix:/run/app.sock", detail: "bad header" };
 * console.log(new ProtocolError(context).message); // "receive unix:/run/app.sock: protocol error (bad header)"
 * ```
 */
export interface ErrorContext {
  /** The operation that failed: `"connect"`, `"accept"`, `"read"`, `"handshake"`... */
  op?: string;
  /** The address it failed on, as `transport:address` (see `formatAddr`). */
  addr?: string;
  /** What exactly went wrong, or how to fix it; goes in parentheses at the end of the message. */
  detail?: string;
  /** The error that caused this one. */
  cause?: unknown;
}

/**
 * What makes up a {@linkcode ConnError}: its context, code and flags.
 *
 * @example
 * ```ts
 * import { ConnError, type ConnErrorInit } from "@tether/tether";
 *
 * const init: ConnErrorInit = { code: "EAGAIN", op: "accept", addr: "tcp:0.0.0.0:80", temporary: true };
 * console.log(new ConnError(init).message); // "accept tcp:0.0.0.0:80: EAGAIN"
 * ```
 */
export interface ConnErrorInit extends ErrorContext {
  /** A stable machine-readable code, such as `"ECONNREFUSED"`. */
  code: string;
  /** What happened, in a few words; the code when absent. */
  summary?: string;
  /** Whether the error was caused by a deadline. */
  timeout?: boolean;
  /** Whether the same call may succeed if tried again later. */
  temporary?: boolean;
}

/** `op addr: summary (detail)`, leaving out what is unknown. */
function compose(init: ConnErrorInit): string {
  const where = [init.op, init.addr].filter((part) => part !== undefined && part !== "").join(" ");
  const what = init.summary ?? init.code;
  const detail = init.detail ? ` (${init.detail})` : "";
  return where === "" ? `${what}${detail}` : `${where}: ${what}${detail}`;
}

/**
 * The base of every tether error.
 *
 * @example
 * ```ts
 * import { ConnError } from "@tether/tether";
 *
 * const err = new ConnError({ code: "EIO", summary: "disk on fire", op: "write", addr: "unix:/tmp/s" });
 * console.log(err.message, err.timeout, err.temporary); // "write unix:/tmp/s: disk on fire" false false
 * ```
 */
export class ConnError extends Error {
  /** A stable machine-readable code, such as `"ECONNREFUSED"`. */
  readonly code: string;
  /** The operation that failed, if known. */
  readonly op: string | undefined;
  /** The address it failed on (`transport:address`), if known. */
  readonly addr: string | undefined;
  /** What exactly went wrong, as the message's parenthesis says, if anything. */
  readonly detail: string | undefined;
  /** Whether the error was caused by a deadline. */
  readonly timeout: boolean;
  /** Whether the same call may succeed if tried again later. */
  readonly temporary: boolean;

  /** Makes an error whose message is composed from `init`. */
  constructor(init: ConnErrorInit) {
    super(compose(init), init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.code = init.code;
    this.op = init.op;
    this.addr = init.addr;
    this.detail = init.detail;
    this.timeout = init.timeout ?? false;
    this.temporary = init.temporary ?? false;
  }
}

/**
 * Nobody listens at the address that was connected to (`ECONNREFUSED`).
 *
 * @example
 * ```ts
 * import { connect, ConnectionRefusedError } from "@tether/tether";
 *
 * await connect({ transport: "memory", name: "nobody-here" }).catch((err) => {
 *   console.log(err instanceof ConnectionRefusedError, err.addr); // true "memory:nobody-here"
 * });
 * ```
 */
export class ConnectionRefusedError extends ConnError {
  /** Makes the error; `detail` may say why nothing listens. */
  constructor(context: ErrorContext = {}) {
    super({
      op: "connect",
      ...context,
      code: "ECONNREFUSED",
      summary: "connection refused: nothing listens there",
    });
  }
}

/**
 * The address is taken (`EADDRINUSE`): another listener holds it, or, for a
 * socket path, something that is not a socket is there.
 *
 * @example
 * ```ts
 * import { AddrInUseError, listen } from "@tether/tether";
 *
 * using _first = listen({ transport: "memory", name: "taken" });
 * try {
 *   listen({ transport: "memory", name: "taken" });
 * } catch (err) {
 *   console.log(err instanceof AddrInUseError); // true
 * }
 * ```
 */
export class AddrInUseError extends ConnError {
  /** Makes the error; `detail` says what holds the address, if not another listener. */
  constructor(context: ErrorContext = {}) {
    super({
      op: "listen",
      detail: "another listener holds it",
      ...context,
      code: "EADDRINUSE",
      summary: "address in use",
    });
  }
}

/**
 * The listener was closed: pending and later accepts, and dials through its
 * own dialer, fail with this (`ELISTENERCLOSED`).
 *
 * @example
 * ```ts
 * import { listen, ListenerClosedError } from "@tether/tether";
 *
 * const listener = listen({ transport: "memory" });
 * listener.close();
 * await listener.dialer().dial().catch((err) => {
 *   console.log(err instanceof ListenerClosedError); // true
 * });
 * ```
 */
export class ListenerClosedError extends ConnError {
  /** Makes the error for a listener that closed. */
  constructor(context: ErrorContext = {}) {
    super({ op: "accept", ...context, code: "ELISTENERCLOSED", summary: "listener closed" });
  }
}

/**
 * The listener's backlog of unaccepted connects is full; try again later
 * (`EBACKLOG`, temporary).
 *
 * @example
 * ```ts
 * import { BacklogFullError } from "@tether/tether";
 *
 * const err = new BacklogFullError({ addr: "memory:busy", backlog: 1 });
 * console.log(err.temporary, err.code); // true EBACKLOG
 * ```
 */
export class BacklogFullError extends ConnError {
  /** Makes the error; `backlog` is the listener's, where known (not for a kernel's queue). */
  constructor(context: ErrorContext & { backlog?: number } = {}) {
    const { backlog, ...rest } = context;
    const waiting = backlog === undefined
      ? "the kernel's queue of unaccepted connections is full, as the listener is slow to accept"
      : `${backlog} unaccepted connection(s) already wait`;
    super({
      op: "connect",
      ...rest,
      code: "EBACKLOG",
      summary: `backlog full: ${waiting}; try again later`,
      temporary: true,
    });
  }
}

/**
 * The connection, or the direction of it that was used, is closed (`EPIPE`).
 *
 * @example
 * ```ts
 * import { ConnClosedError, pipe } from "@tether/tether";
 *
 * const [a] = pipe();
 * await a.closeWrite();
 * await a.write(new Uint8Array(1)).catch((err) => {
 *   console.log(err instanceof ConnClosedError); // true
 * });
 * ```
 */
export class ConnClosedError extends ConnError {
  /** Makes the error; `detail` says who closed what ("closed by peer", "after closeWrite"). */
  constructor(context: ErrorContext = {}) {
    super({ ...context, code: "EPIPE", summary: "connection closed" });
  }
}

/**
 * A message is larger than the agreed maximum (`EMSGSIZE`). Raised on the
 * sender before anything is written, and on the receiver before any buffer of
 * that size is allocated.
 *
 * @example
 * ```ts
 * import { MessageTooLargeError } from "@tether/tether";
 *
 * const err = new MessageTooLargeError({ size: 5_000_000, limit: 3 * 1024 * 1024, op: "send" });
 * console.log(err.size, err.limit); // 5000000 3145728
 * ```
 */
export class MessageTooLargeError extends ConnError {
  /** The size of the message that was refused. */
  readonly size: number;
  /** The largest size allowed. */
  readonly limit: number;
  /** Makes the error for a message of `size` bytes over `limit`. */
  constructor(context: ErrorContext & { size: number; limit: number }) {
    const { size, limit, ...rest } = context;
    const why = size > limit
      ? `${size} bytes exceeds the limit of ${limit}`
      : `${size} bytes is within the limit of ${limit} but could not be held`;
    super({ ...rest, code: "EMSGSIZE", summary: `message too large: ${why}` });
    this.size = size;
    this.limit = limit;
  }
}

/**
 * The peer sent input that breaks the protocol (`EPROTO`). The connection it
 * came on is closed.
 *
 * @example
 * ```ts
 * import { ProtocolError } from "@tether/tether";
 *
 * const err = new ProtocolError({ detail: "truncated frame at EOF" });
 * console.log(err.code, err.message); // EPROTO "protocol error (truncated frame at EOF)"
 * ```
 */
export class ProtocolError extends ConnError {
  /** Makes the error; `detail` says what was wrong. */
  constructor(context: ErrorContext = {}) {
    super({ ...context, code: "EPROTO", summary: "protocol error" });
  }
}

/**
 * Authentication failed or the peer does not speak the same handshake
 * (`EHANDSHAKE`). The connection is closed.
 *
 * @example
 * ```ts
 * import { HandshakeError } from "@tether/tether";
 *
 * const err = new HandshakeError({ detail: "remote key rejected" });
 * console.log(err.code); // EHANDSHAKE
 * ```
 */
export class HandshakeError extends ConnError {
  /** Makes the error; `detail` says what failed. */
  constructor(context: ErrorContext = {}) {
    super({ op: "handshake", ...context, code: "EHANDSHAKE", summary: "handshake failed" });
  }
}

/**
 * A cipher state used up its nonces: a Noise cipher key may encrypt at most
 * 2^64 - 1 messages (`ENONCE`). The secure conn can no longer send (or
 * receive) in that direction; open a new one.
 *
 * @example
 * ```ts
 * import { NonceExhaustedError } from "@tether/tether";
 *
 * const err = new NonceExhaustedError({ op: "send" });
 * console.log(err.code); // ENONCE
 * ```
 */
export class NonceExhaustedError extends ConnError {
  /** Makes the error for the direction (`op`: `"send"` or `"receive"`) that ran out. */
  constructor(context: ErrorContext = {}) {
    super({
      ...context,
      code: "ENONCE",
      summary: "nonce space exhausted: no more messages can be sent under this key; open a new conn",
    });
  }
}

/**
 * The runtime lacks an algorithm that was asked for, such as WebCrypto's
 * `ChaCha20-Poly1305` on runtimes that do not implement it (`ENOTSUP`).
 *
 * @example
 * ```ts
 * import { UnsupportedAlgorithmError } from "@tether/tether";
 *
 * const err = new UnsupportedAlgorithmError({ algorithm: "ChaCha20-Poly1305" });
 * console.log(err.algorithm, err.code); // ChaCha20-Poly1305 ENOTSUP
 * ```
 */
export class UnsupportedAlgorithmError extends ConnError {
  /** The algorithm the runtime lacks. */
  readonly algorithm: string;
  /** Makes the error for `algorithm`; `detail` may say what to use instead. */
  constructor(context: ErrorContext & { algorithm: string }) {
    const { algorithm, ...rest } = context;
    super({ ...rest, code: "ENOTSUP", summary: `this runtime's WebCrypto does not support ${algorithm}` });
    this.algorithm = algorithm;
  }
}

/**
 * The error for a connect, accept, listen or handshake whose signal aborted:
 * a {@linkcode ConnError} naming the operation and the address, with the
 * signal's reason as its `cause`. A deadline (`AbortSignal.timeout`) gives
 * code `ETIMEDOUT` and `timeout: true`; any other abort, code `ECANCELED`.
 * (A read or write that is aborted rejects with the signal's reason itself.)
 *
 * @example
 * ```ts
 * import { abortError } from "@tether/tether";
 *
 * const signal = AbortSignal.abort(new DOMException("late", "TimeoutError"));
 * const err = abortError(signal.reason, { op: "connect", addr: "memory:db" });
 * console.log(err.message, err.timeout); // "connect memory:db: timed out" true
 * ```
 */
export function abortError(reason: unknown, context: ErrorContext): ConnError {
  const timeout = reason instanceof DOMException && reason.name === "TimeoutError";
  return new ConnError({
    ...context,
    code: timeout ? "ETIMEDOUT" : "ECANCELED",
    summary: timeout ? "timed out" : "aborted",
    detail: context.detail ?? (timeout ? undefined : reasonText(reason)),
    timeout,
    cause: reason,
  });
}

function reasonText(reason: unknown): string | undefined {
  if (reason instanceof Error) return reason.message || reason.name;
  return reason === undefined ? undefined : String(reason);
}
