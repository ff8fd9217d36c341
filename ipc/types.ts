/**
 * The shapes `ipc/` shares between its server and client: statuses,
 * messages, the status event, and the options of the encryption layer.
 *
 * @module
 */

import type { KeyPair } from "../crypto/keys.ts";

/**
 * Where a {@linkcode Client}, a {@linkcode Server} or one of its clients
 * stands:
 *
 * - `"connecting"`: a client dials (and handshakes) for the first time;
 * - `"connected"`: a client's (or a server's client's) connection is up;
 * - `"reconnecting"`: a client lost its connection and dials again;
 * - `"listening"`: a server accepts clients;
 * - `"closing"`, `"closed"`: `close()` was called, or (for a server's
 *   client) the connection ended; `"closed"` is final;
 * - `"timeout"`: a client found no server within its `timeout` (final);
 * - `"error"`: something that retrying cannot fix ended it, such as a
 *   handshake mismatch or a listener failure (final).
 *
 * @example
 * ```ts
 * import type { IpcStatus } from "@tether/tether/ipc";
 *
 * const done: IpcStatus[] = ["closed", "timeout", "error"];
 * console.log(done.includes("closed")); // true
 * ```
 */
export type IpcStatus =
  | "connecting"
  | "connected"
  | "reconnecting"
  | "listening"
  | "closing"
  | "closed"
  | "timeout"
  | "error";

/**
 * One message: its type (a whole number from 1 to 2^32 - 1; 0 is reserved)
 * and its bytes.
 *
 * @example
 * ```ts
 * import type { IpcMessage } from "@tether/tether/ipc";
 *
 * const message: IpcMessage = { type: 1, data: new TextEncoder().encode("hello") };
 * console.log(message.type); // 1
 * ```
 */
export interface IpcMessage {
  /** The message type, 1 to 2^32 - 1. */
  readonly type: number;
  /** The message bytes; the receiver owns them. */
  readonly data: Uint8Array;
}

/**
 * Static keys for authenticated encryption (Noise `XX`, `IK`, `NK`, `NX`).
 *
 * A server gives its `keyPair`, and `verifyRemote` if it wants to know its
 * clients (then every client must bring a key pair, and only the keys it
 * accepts get in). A client pins the server either by `serverKey` (its
 * public key, known beforehand: pattern `IK`, or `NK` without a key pair of
 * its own) or by `verifyRemote` (pattern `XX`, or `NX`); it must give one of
 * the two.
 *
 * @example
 * ```ts
 * import { generateKeyPair } from "@tether/tether/crypto";
 * import type { IpcKeys } from "@tether/tether/ipc";
 *
 * const server = await generateKeyPair();
 * const keys: IpcKeys = { serverKey: server.publicKey }; // a client that pins its server
 * console.log(keys.serverKey!.length); // 32
 * ```
 */
export interface IpcKeys {
  /** This side's static X25519 key pair (from `generateKeyPair()`); a server must give one. */
  keyPair?: KeyPair;
  /** Client only: the server's public key, known beforehand. */
  serverKey?: Uint8Array;
  /**
   * Decides whether the peer's static public key is accepted: on a server,
   * a client's (and then clients without a key are refused); on a client,
   * the server's, when `serverKey` is not given. Anything but `true` fails
   * the handshake with a `HandshakeError`.
   */
  verifyRemote?: (remoteKey: Uint8Array) => boolean | Promise<boolean>;
}

/**
 * The wire protocol: tether's own (the default: versioned, authenticated,
 * confirmed delivery counts), or golang-ipc's version 2, to serve or join
 * existing Go programs that use github.com/james-barrow/golang-ipc.
 *
 * @example
 * ```ts
 * import type { IpcProtocol } from "@tether/tether/ipc";
 *
 * const protocol: IpcProtocol = "golang-ipc";
 * console.log(protocol);
 * ```
 */
export type IpcProtocol = "tether" | "golang-ipc";

/**
 * The `statuschange` event of a {@linkcode Client} or {@linkcode Server}.
 * On a server, events about one of its clients carry that `client`, and
 * `status` is the client's.
 *
 * @example
 * ```ts
 * import { IpcStatusEvent } from "@tether/tether/ipc";
 *
 * const event = new IpcStatusEvent("reconnecting", { unconfirmed: 3 });
 * console.log(event.type, event.status, event.unconfirmed); // "statuschange" "reconnecting" 3
 * ```
 */
export class IpcStatusEvent<C = unknown> extends Event {
  /** The new status. */
  readonly status: IpcStatus;
  /** Why: the error that ended a connection, the timeout, a handshake mismatch. */
  readonly error: unknown;
  /** On a server: the client this event is about. */
  readonly client: C | undefined;
  /**
   * When a connection ended: how many messages this side's writes handed to
   * it that the peer's application had not confirmed reading. They may be
   * lost. `undefined` where the protocol has no confirmations (golang-ipc).
   */
  readonly unconfirmed: number | undefined;

  /** Makes the event for `status`. */
  constructor(status: IpcStatus, init: { error?: unknown; client?: C; unconfirmed?: number } = {}) {
    super("statuschange");
    this.status = status;
    this.error = init.error;
    this.client = init.client;
    this.unconfirmed = init.unconfirmed;
  }
}

/**
 * Where a server is, as {@linkcode serve} and {@linkcode connectClient}
 * take it: a name (a Unix socket or a named pipe), or a TCP host and port.
 *
 * @example
 * ```ts
 * import type { IpcAddressOptions } from "@tether/tether/ipc";
 *
 * const overTcp: IpcAddressOptions = { name: "jobs", transport: "tcp", hostname: "127.0.0.1", port: 7000 };
 * console.log(overTcp.transport); // "tcp"
 * ```
 */
export interface IpcAddressOptions {
  /**
   * The server's name: a Unix socket `NAME.sock` in `$XDG_RUNTIME_DIR`
   * (else the temp dir), the pipe `\\.\pipe\NAME` on Windows; with
   * `protocol: "golang-ipc"`, golang-ipc's own path, `/tmp/NAME.sock`.
   * Optional with `transport: "tcp"`, where it only names the server in logs.
   */
  name?: string;
  /** `"unix"` (default on Linux and macOS), `"pipe"` (default on Windows) or `"tcp"`. */
  transport?: "unix" | "pipe" | "tcp";
  /** TCP only: the host; default `"127.0.0.1"`. */
  hostname?: string;
  /** TCP only: the port (`0` on a server picks a free one: see `server.addr.port`). */
  port?: number;
}

/**
 * Encryption and protocol settings; a server and its clients must agree.
 *
 * @example
 * ```ts
 * import type { IpcSecurityOptions } from "@tether/tether/ipc";
 *
 * const withPsk: IpcSecurityOptions = { psk: crypto.getRandomValues(new Uint8Array(32)) };
 * console.log(withPsk.psk!.length); // 32
 * ```
 */
export interface IpcSecurityOptions {
  /**
   * Encrypt (default `true`): Noise NN, which encrypts but authenticates
   * nobody, unless `psk` or `keys` say more. With `protocol: "golang-ipc"`,
   * a server encrypts or not, and a client with `true` refuses a plain
   * server while one with `false` takes what the server announces.
   */
  encryption?: boolean;
  /** A 32-byte pre-shared key both sides know (Noise NNpsk0): authenticates both. */
  psk?: Uint8Array;
  /** Static keys (Noise IK, XX, NK, NX): see {@linkcode IpcKeys}. */
  keys?: IpcKeys;
  /** The wire protocol; default `"tether"`. */
  protocol?: IpcProtocol;
}
