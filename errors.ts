/**
 * The errors tether raises, in one place.
 *
 * Every error that comes from a connection, a listener or a peer extends
 * {@linkcode ConnError}, which carries a stable `code`, and the `timeout` and
 * `temporary` flags of Go's `net.Error`: a caller can retry a temporary error,
 * and can tell a deadline from a failure. Invalid arguments to a function are
 * the platform's own `TypeError` and `RangeError`, as with `Deno.listen`.
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
 *   if (err instanceof ConnClosedError) console.log(err.code); // "EPIPE"
 *   if (err instanceof ConnError && err.temporary) console.log("retry");
 * }
 * ```
 *
 * @module
 */

/**
 * Options every {@linkcode ConnError} takes.
 *
 * @example
 * ```ts
 * import { type ConnErrorOptions, ProtocolError } from "@tether/tether";
 *
 * const options: ConnErrorOptions = { cause: new Error("bad byte") };
 * console.log(new ProtocolError("bad header", options).cause); // Error: bad byte
 * ```
 */
export interface ConnErrorOptions {
  /** The error that caused this one. */
  cause?: unknown;
}

/**
 * What makes up a {@linkcode ConnError}: its code and flags.
 *
 * @example
 * ```ts
 * import { ConnError, type ConnErrorInit } from "@tether/tether";
 *
 * const init: ConnErrorInit = { code: "EAGAIN", temporary: true };
 * console.log(new ConnError("try later", init).temporary); // true
 * ```
 */
export interface ConnErrorInit extends ConnErrorOptions {
  /** A stable machine-readable code, such as `"ECONNREFUSED"`. */
  code: string;
  /** Whether the error was caused by a deadline. */
  timeout?: boolean;
  /** Whether the same call may succeed if tried again later. */
  temporary?: boolean;
}

/**
 * The base of every tether error.
 *
 * @example
 * ```ts
 * import { ConnError } from "@tether/tether";
 *
 * const err = new ConnError("disk on fire", { code: "EIO" });
 * console.log(err.code, err.timeout, err.temporary); // EIO false false
 * ```
 */
export class ConnError extends Error {
  /** A stable machine-readable code, such as `"ECONNREFUSED"`. */
  readonly code: string;
  /** Whether the error was caused by a deadline. */
  readonly timeout: boolean;
  /** Whether the same call may succeed if tried again later. */
  readonly temporary: boolean;

  /** Makes an error with a message and its code and flags. */
  constructor(message: string, init: ConnErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.code = init.code;
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
 *   console.log(err instanceof ConnectionRefusedError); // true
 * });
 * ```
 */
export class ConnectionRefusedError extends ConnError {
  /** The address that refused. */
  readonly address: string;
  /** Makes the error for `address`. */
  constructor(address: string, options: ConnErrorOptions & { reason?: string } = {}) {
    super(
      `connection refused: nothing listens at ${address}${options.reason ? ` (${options.reason})` : ""}`,
      { code: "ECONNREFUSED", cause: options.cause },
    );
    this.address = address;
  }
}

/**
 * Another listener already holds the address (`EADDRINUSE`).
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
  /** The address in use. */
  readonly address: string;
  /** Makes the error for `address`. */
  constructor(address: string, options: ConnErrorOptions & { reason?: string } = {}) {
    super(
      `address in use: ${address} already has a listener${options.reason ? ` (${options.reason})` : ""}`,
      { code: "EADDRINUSE", cause: options.cause },
    );
    this.address = address;
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
  /** The listener's address. */
  readonly address: string;
  /** Makes the error for the listener at `address`. */
  constructor(address: string, options: ConnErrorOptions = {}) {
    super(`listener closed: ${address}`, { code: "ELISTENERCLOSED", cause: options.cause });
    this.address = address;
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
 * const err = new BacklogFullError("memory:busy", 1);
 * console.log(err.temporary, err.code); // true EBACKLOG
 * ```
 */
export class BacklogFullError extends ConnError {
  /** The listener's address. */
  readonly address: string;
  /** Makes the error for the listener at `address` with its `backlog`, if known. */
  constructor(address: string, backlog?: number, options: ConnErrorOptions = {}) {
    const waiting = backlog === undefined
      ? "the kernel's queue of unaccepted connections is full (the listener is slow to accept)"
      : `already has ${backlog} unaccepted connection(s) waiting`;
    super(`backlog full: ${address} ${waiting}; try again later`, {
      code: "EBACKLOG",
      temporary: true,
      cause: options.cause,
    });
    this.address = address;
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
  /** Makes the error; `what` says what was closed and where. */
  constructor(what = "connection closed", options: ConnErrorOptions = {}) {
    super(what, { code: "EPIPE", cause: options.cause });
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
 * const err = new MessageTooLargeError(5_000_000, 3 * 1024 * 1024);
 * console.log(err.size, err.limit); // 5000000 3145728
 * ```
 */
export class MessageTooLargeError extends ConnError {
  /** The size of the message that was refused. */
  readonly size: number;
  /** The largest size allowed. */
  readonly limit: number;
  /** Makes the error for a message of `size` bytes over `limit`. */
  constructor(size: number, limit: number, options: ConnErrorOptions & { where?: string } = {}) {
    const why = size > limit
      ? `${size} bytes exceeds the limit of ${limit}`
      : `${size} bytes is within the limit of ${limit} but could not be held`;
    super(`message too large: ${why}${options.where ? ` (${options.where})` : ""}`, {
      code: "EMSGSIZE",
      cause: options.cause,
    });
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
 * const err = new ProtocolError("truncated frame at EOF");
 * console.log(err.code); // EPROTO
 * ```
 */
export class ProtocolError extends ConnError {
  /** Makes the error; the message says what was wrong. */
  constructor(message: string, options: ConnErrorOptions = {}) {
    super(`protocol error: ${message}`, { code: "EPROTO", cause: options.cause });
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
 * const err = new HandshakeError("remote key rejected");
 * console.log(err.code); // EHANDSHAKE
 * ```
 */
export class HandshakeError extends ConnError {
  /** Makes the error; the message says what failed. */
  constructor(message: string, options: ConnErrorOptions = {}) {
    super(`handshake failed: ${message}`, { code: "EHANDSHAKE", cause: options.cause });
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
 * const err = new NonceExhaustedError("send");
 * console.log(err.code); // ENONCE
 * ```
 */
export class NonceExhaustedError extends ConnError {
  /** Makes the error for the direction (`"send"` or `"receive"`) that ran out. */
  constructor(direction: string, options: ConnErrorOptions = {}) {
    super(`nonce space exhausted on ${direction}: no more messages can be sent under this key`, {
      code: "ENONCE",
      cause: options.cause,
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
 * const err = new UnsupportedAlgorithmError("ChaCha20-Poly1305");
 * console.log(err.algorithm, err.code); // ChaCha20-Poly1305 ENOTSUP
 * ```
 */
export class UnsupportedAlgorithmError extends ConnError {
  /** The algorithm the runtime lacks. */
  readonly algorithm: string;
  /** Makes the error for `algorithm`. */
  constructor(algorithm: string, options: ConnErrorOptions & { hint?: string } = {}) {
    super(
      `this runtime's WebCrypto does not support ${algorithm}${options.hint ? `: ${options.hint}` : ""}`,
      { code: "ENOTSUP", cause: options.cause },
    );
    this.algorithm = algorithm;
  }
}
