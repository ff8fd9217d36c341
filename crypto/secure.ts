/**
 * `secure(conn, options)`: runs a Noise handshake over any {@linkcode Conn}
 * and returns a {@linkcode SecureConn} whose bytes are encrypted and
 * authenticated.
 *
 * ## Wire format
 *
 * Handshake messages, then transport records, each a 2-byte big-endian
 * length and that many bytes. Handshake payloads are empty, so every
 * handshake message has the one length its pattern gives it; any other
 * length is refused at once. See `records.ts` for the records.
 *
 * @example Anonymous encryption (NN) over a pipe
 * ```ts
 * import { pipe } from "@tether/tether";
 * import { secure } from "@tether/tether/crypto";
 *
 * const [a, b] = pipe();
 * const [client, server] = await Promise.all([
 *   secure(a, { role: "initiator" }),
 *   secure(b, { role: "responder" }),
 * ]);
 * await client.write(new TextEncoder().encode("hi"));
 * const buf = new Uint8Array(2);
 * await server.read(buf);
 * console.log(new TextDecoder().decode(buf)); // "hi"
 * client.close();
 * server.close();
 * ```
 *
 * @module
 */

import type { CallOptions, Conn } from "../conn.ts";
import { abortError, ConnClosedError, ConnError, type ErrorContext, HandshakeError } from "../errors.ts";
import { abortable } from "../_async/abortable.ts";
import { noop, onAbort } from "../_async/waiter.ts";
import { checkBufferSize, describe } from "../_validate.ts";
import { type TestHooks, testHooksFor } from "./_internal.ts";
import { cipherFunctions, type CipherName } from "./cipher.ts";
import { HandshakeState, PSK_LENGTH } from "./handshake.ts";
import { hashFunctions, type HashName } from "./hash.ts";
import { checkKey, checkKeyPair, type KeyPair, prepareEphemeral } from "./keys.ts";
import { type HandshakePattern, parsePattern, type PatternName, pskCount, staticKeyUse } from "./patterns.ts";
import { type SecureConn, SecureQueueConn } from "./records.ts";
import { encodeFrame, FrameReader } from "./wire.ts";
import { REFUSAL, REFUSAL_TIMEOUT_MS, refusalText } from "./refusal.ts";
import { connWhere } from "../_where.ts";

/**
 * Options of {@linkcode secure}.
 *
 * @example Options for a server pinning one client key (IK responder)
 * ```ts
 * import { generateKeyPair, type SecureOptions } from "@tether/tether/crypto";
 *
 * const serverKeys = await generateKeyPair();
 * const clientKey = (await generateKeyPair()).publicKey;
 * const options: SecureOptions = {
 *   role: "responder",
 *   pattern: "IK",
 *   staticKeyPair: serverKeys,
 *   verifyRemote: (key) => key.every((x, i) => x === clientKey[i]),
 *   prologue: new TextEncoder().encode("myapp/1"),
 *   signal: AbortSignal.timeout(5000),
 * };
 * console.log(options.pattern); // "IK"
 * ```
 */
export interface SecureOptions extends CallOptions {
  /** Which side this is: the initiator sends the first handshake message. */
  role: "initiator" | "responder";
  /**
   * The Noise handshake pattern; default `"NN"` (anonymous: encrypts, but
   * authenticates nobody). `"NNpsk0"` authenticates both sides by a shared
   * secret; `"XX"`, `"IK"` and `"KK"` by static keys.
   */
  pattern?: PatternName;
  /** The 32-byte pre-shared key of a `psk` pattern; used for each of its `psk` tokens. */
  psk?: Uint8Array;
  /** This side's static key pair, for patterns that send or pre-share one. */
  staticKeyPair?: KeyPair;
  /**
   * The peer's static public key, for patterns where this side knows it
   * beforehand (the initiator of IK, NK, XK; both sides of KK; the responder
   * of KN, KX...), and required there. Anywhere else it is a `TypeError`:
   * where the peer sends its key (XX, IX, NX...), that key is the one to
   * check, in `verifyRemote`.
   */
  remoteStaticKey?: Uint8Array;
  /** Bytes both sides must agree on, such as a protocol name and version; default empty. */
  prologue?: Uint8Array;
  /**
   * Decides whether to accept the static public key the peer sends in the
   * handshake, for patterns where it sends one (XX, IX, NX, the responder of
   * IK...); a `TypeError` anywhere else, including for a key given as
   * `remoteStaticKey`. Asked once, as soon as the handshake message carrying
   * the key has been read (and authenticated, where it is encrypted), before
   * this side writes again. Anything but `true` (or a rejection) fails the
   * handshake with a `HandshakeError`. Without it, any key is accepted.
   *
   * When it is asked, the peer has not always proved yet that it holds the
   * private key: that takes a message sealed under a key mixed from a
   * Diffie-Hellman with it. For the
   * initiator of XX, NX, IX and KX, and the responder of XX, XN, XK and IK,
   * that DH is in the very message that carried the key: it is proven. For
   * the responder of IX and IN (and the deferred patterns that put the DH in
   * a later message), it is only claimed: a later handshake message proves
   * it or fails the handshake, and where there is none, the peer's first
   * record proves it. The session keys depend on that DH either way, so a
   * peer without the private key cannot read what this side sends, and the
   * first record it sends fails with a `ProtocolError`: every byte read from
   * the conn comes from the key's holder.
   */
  verifyRemote?: (remoteStaticKey: Uint8Array) => boolean | Promise<boolean>;
  /**
   * The AEAD; default `"AESGCM"`. `"ChaChaPoly"` works everywhere (tether
   * seals small records with its own ChaCha20-Poly1305) and is the faster of
   * the two in Deno for records of every size.
   */
  cipher?: CipherName;
  /** The hash; default `"SHA256"`. */
  hash?: HashName;
  /** Plaintext bytes queued per direction before a writer waits; default 64 KiB. */
  bufferSize?: number;
  /**
   * Milliseconds `close()` may spend sending the bytes already queued and the
   * EOF record to a peer that does not read, before it closes the conn
   * underneath anyway (as Go's TLS does for its close alert); default 5000.
   */
  closeTimeout?: number;
}

const EMPTY = new Uint8Array(0);
const DEFAULT_CLOSE_TIMEOUT = 5000;
const CIPHERS: readonly string[] = ["AESGCM", "ChaChaPoly"];
const HASHES: readonly string[] = ["SHA256", "SHA512"];

/** `secure()`'s options, checked. Internal to `crypto/`. */
export interface Checked {
  pattern: HandshakePattern;
  initiator: boolean;
  cipher: CipherName;
  hash: HashName;
  psks: Uint8Array[];
  bufferSize: number;
  closeTimeout: number;
  hooks: TestHooks;
}

/**
 * Secures `conn` with a Noise handshake and returns the encrypted conn. The
 * handshake as a whole honours `options.signal`.
 *
 * A handshake that fails (wrong PSK or key, a key `verifyRemote` refuses,
 * garbage, a peer speaking another protocol, EOF) rejects with a
 * `HandshakeError`; an aborted one with `signal.reason`. Either way `conn` is
 * closed. Bad options are a `TypeError` or `RangeError`, and leave `conn`
 * alone.
 *
 * @example Mutual authentication with static keys (XX)
 * ```ts
 * import { pipe } from "@tether/tether";
 * import { generateKeyPair, secure } from "@tether/tether/crypto";
 *
 * const [serverKeys, clientKeys] = await Promise.all([generateKeyPair(), generateKeyPair()]);
 * const known = (key: Uint8Array) => key.every((x, i) => x === serverKeys.publicKey[i]);
 * const [a, b] = pipe();
 * const [client, server] = await Promise.all([
 *   secure(a, { role: "initiator", pattern: "XX", staticKeyPair: clientKeys, verifyRemote: known }),
 *   secure(b, { role: "responder", pattern: "XX", staticKeyPair: serverKeys, verifyRemote: () => true }),
 * ]);
 * console.log(server.remoteStaticKey!.length); // 32
 * client.close();
 * server.close();
 * ```
 */
export function secure(conn: Conn, options: SecureOptions): Promise<SecureConn> {
  return secureFramed(conn, options, NO_FRAMING);
}

/**
 * What a protocol on top adds around the handshake's first two messages,
 * to save round trips: a header of its own that travels in the same write
 * as this side's first message, and one read before the peer's, and a
 * payload in this side's first message (authenticated with the handshake,
 * and encrypted where the pattern has a key by then). Internal to the
 * package (`ipc/` uses it); not part of `@tether/tether/crypto`.
 */
export interface HandshakeFraming {
  /** The reader of `conn` the protocol read its own header with (holding what it read ahead). */
  reader?: FrameReader;
  /** Bytes written just before this side's first handshake message, in the same conn write. */
  lead?: Uint8Array;
  /**
   * A header of `length` bytes read just before the peer's first handshake
   * message. `check` gets what was read (fewer bytes if the conn ended
   * first, with `complete` false) and throws to end the handshake: its
   * error is what `secureFramed` rejects with, as it is.
   */
  leadIn?: { length: number; check(bytes: Uint8Array, complete: boolean): void };
  /** The payload of this side's first handshake message; default empty. */
  payload?: Uint8Array;
  /**
   * The payload length the peer's first handshake message carries, and a
   * check of the payload once the message is authenticated; it throws (its
   * error as is) to end the handshake.
   */
  peerPayload?: { length: number; check(payload: Uint8Array): void };
}

const NO_FRAMING: HandshakeFraming = Object.freeze({});

/** Errors of a framing's checks: `secureFramed` rejects with them as they are. */
const framingErrors = new WeakSet<object>();

function framingCheck(check: () => void): void {
  try {
    check();
  } catch (err) {
    if (err !== null && typeof err === "object") framingErrors.add(err);
    throw err;
  }
}

/**
 * {@linkcode secure}, with a protocol's header and payloads around the
 * handshake's first messages (see {@linkcode HandshakeFraming}).
 */
export async function secureFramed(
  conn: Conn,
  options: SecureOptions,
  framing: HandshakeFraming,
): Promise<SecureConn> {
  const checked = checkOptions(conn, options);
  const { signal } = options;
  const context: ErrorContext = { op: "handshake", addr: connWhere(conn) };
  // A cipher this runtime lacks is a bad option: it leaves the conn alone.
  const cipher = await cipherFunctions(checked.cipher);
  // Reads and writes go without the signal: an abort closes the conn, which
  // ends whatever waits on it. (A socket read that takes a signal goes
  // through a queue, as the native read cannot be aborted; one without reads
  // straight into the buffer.)
  const detach = onAbort(signal, () => conn.close());
  try {
    if (signal?.aborted) throw signal.reason;
    return await handshake(conn, options, checked, cipher, context, framing);
  } catch (err) {
    const refusal = refusals.get(err as object);
    if (refusal !== undefined && !signal?.aborted) await tellRefusal(conn, refusal);
    conn.close();
    if (signal?.aborted) throw abortError(signal.reason, context);
    if (framingErrors.has(err as object)) throw err;
    if (err instanceof HandshakeError) {
      // The handshake state names no address: say which conn it was.
      throw err.addr !== undefined
        ? err
        : new HandshakeError({ ...context, detail: err.detail, cause: err.cause });
    }
    throw new HandshakeError({
      ...context,
      // A ConnError's own detail, not its whole message: the context names op and address already.
      detail: err instanceof ConnError
        ? err.detail ?? err.message
        : err instanceof Error
        ? err.message
        : String(err),
      cause: err,
    });
  } finally {
    detach();
  }
}

/** Errors that this side should tell the peer about, with the refusal byte to send. */
const refusals = new WeakMap<object, number>();

function refusing<E extends object>(err: E, reason: number): E {
  refusals.set(err, reason);
  return err;
}

async function tellRefusal(conn: Conn, reason: number): Promise<void> {
  try {
    await conn.write(encodeFrame(Uint8Array.of(reason)), { signal: AbortSignal.timeout(REFUSAL_TIMEOUT_MS) });
  } catch {
    // The peer is gone or not reading: it learns only that the conn ended.
  }
}

async function handshake(
  conn: Conn,
  options: SecureOptions,
  checked: Checked,
  cipher: Awaited<ReturnType<typeof cipherFunctions>>,
  context: ErrorContext,
  framing: HandshakeFraming,
): Promise<SecureConn> {
  const { signal, verifyRemote } = options;
  const { pattern, initiator, hooks } = checked;
  const hash = hashFunctions(checked.hash);
  const state = await HandshakeState.initialize({
    pattern,
    initiator,
    cipher,
    hash,
    prologue: options.prologue,
    s: options.staticKeyPair,
    rs: options.remoteStaticKey,
    psks: checked.psks,
    e: hooks.ephemeral,
  });
  const reader = framing.reader ?? new FrameReader(conn);
  let verified = false;
  let written = 0, read = 0;
  while (!state.complete) {
    if (state.myTurn) {
      const first = written++ === 0;
      const payload = first ? framing.payload ?? EMPTY : EMPTY;
      const lead = first ? framing.lead : undefined;
      const length = state.messageLength(payload.length);
      // The ephemeral key goes ahead of the DH behind it (see headLength()),
      // so the peer computes its DH while this side computes its own.
      const head: { sent: number; writing?: Promise<number> } = { sent: 0 };
      const message = await state.writeMessage(payload, (bytes) => {
        head.writing = conn.write(encodeFrame(bytes, lead, length));
        head.writing.catch(noop); // awaited below, unless the message fails first
        head.sent = bytes.length;
      });
      signal?.throwIfAborted();
      const sending = conn.write(head.sent === 0 ? encodeFrame(message, lead) : message.subarray(head.sent));
      prepareEphemeral(); // while the peer works on its answer
      // Both awaited together: two writes in flight may both fail (a close), and neither may go unhandled.
      await Promise.all([head.writing, sending]);
      continue;
    }
    const first = read++ === 0;
    const leadIn = first ? framing.leadIn : undefined;
    if (leadIn !== undefined) {
      const got = await reader.take(leadIn.length);
      framingCheck(() => leadIn.check(got, got.length === leadIn.length));
    }
    const peerPayload = first ? framing.peerPayload : undefined;
    const expected = state.messageLength(peerPayload?.length ?? 0);
    const headLength = state.headLength();
    const message = await reader.next({
      // The peer's ephemeral key and the DH behind it, while the rest comes.
      head: headLength === 0 ? undefined : {
        length: headLength,
        async read(head) {
          try {
            await state.readHead(head);
          } catch (err) {
            throw refusing(err as object, REFUSAL.notAuthenticated);
          }
        },
      },
      check(length) {
        if (length !== expected && length !== 1) {
          throw refusing(
            new HandshakeError({
              ...context,
              detail: `expected a ${expected}-byte ${pattern.name} handshake message, the peer announced ` +
                `${length} bytes: it speaks another pattern, suite or protocol`,
            }),
            REFUSAL.mismatch,
          );
        }
      },
    });
    if (message === null) {
      // The cause says "the conn ended" to code that retries (ipc's client), without reading the text.
      throw new HandshakeError({
        ...context,
        detail: "the connection ended before the handshake finished",
        cause: new ConnClosedError({ ...context, detail: "ended before the handshake finished" }),
      });
    }
    if (message.length === 1) {
      throw new HandshakeError({
        ...context,
        detail: refusalText(message[0]),
      });
    }
    let payload: Uint8Array;
    try {
      payload = await state.readMessage(message);
    } catch (err) {
      throw refusing(err as object, REFUSAL.notAuthenticated);
    }
    if (peerPayload !== undefined) framingCheck(() => peerPayload.check(payload));
    signal?.throwIfAborted();
    // The key the peer sent, checked before this side writes another message.
    // A pre-shared key is not asked about: the caller chose it.
    const received = state.receivedStaticKey;
    if (received !== null && !verified) {
      verified = true;
      if (verifyRemote) await verify(verifyRemote, received, signal, context);
    }
  }
  const result = await state.split();
  if (hooks.nonce !== undefined) {
    result.send.setNonce(hooks.nonce);
    result.receive.setNonce(hooks.nonce);
  }
  signal?.throwIfAborted();
  return new SecureQueueConn({
    conn,
    reader,
    ...result,
    protocol: `Noise_${pattern.name}_25519_${cipher.name}_${hash.name}`,
    bufferSize: checked.bufferSize,
    closeTimeout: checked.closeTimeout,
  });
}

/** Asks `verifyRemote` about `key`, within the signal. */
async function verify(
  verifyRemote: NonNullable<SecureOptions["verifyRemote"]>,
  key: Uint8Array,
  signal: AbortSignal | undefined,
  context: ErrorContext,
): Promise<void> {
  let accepted: unknown;
  try {
    accepted = await abortable(new Promise((resolve) => resolve(verifyRemote(key.slice()))), signal);
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw refusing(
      new HandshakeError({ ...context, detail: "verifyRemote rejected the peer's static key", cause: err }),
      REFUSAL.keyRefused,
    );
  }
  if (accepted !== true) {
    throw refusing(
      new HandshakeError({ ...context, detail: "verifyRemote refused the peer's static key" }),
      REFUSAL.keyRefused,
    );
  }
}

function checkOptions(conn: Conn, options: SecureOptions): Checked {
  if (conn === null || typeof conn !== "object" || typeof conn.read !== "function") {
    throw new TypeError(`secure() takes a Conn, got ${describe(conn)}`);
  }
  return checkSecureOptions(options);
}

/**
 * Checks `options` as `secure()` does, with no conn yet: what wraps a
 * listener or a dialer checks them once, up front. Internal to `crypto/`.
 */
export function checkSecureOptions(options: SecureOptions): Checked {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`secure() takes an options object, got ${describe(options)}`);
  }
  const { role, pattern: name = "NN", cipher = "AESGCM", hash = "SHA256" } = options;
  if (role !== "initiator" && role !== "responder") {
    throw new TypeError(`role must be "initiator" or "responder", got ${describe(role)}`);
  }
  if (typeof name !== "string") throw new TypeError(`pattern must be a string, got ${describe(name)}`);
  const pattern = parsePattern(name);
  if (pattern.oneWay) {
    throw new TypeError(
      `pattern ${name} is one-way: a secure conn needs an interactive pattern such as NN or XX`,
    );
  }
  if (!CIPHERS.includes(cipher)) {
    throw new TypeError(`cipher must be "AESGCM" or "ChaChaPoly", got ${describe(cipher)}`);
  }
  if (!HASHES.includes(hash)) throw new TypeError(`hash must be "SHA256" or "SHA512", got ${describe(hash)}`);
  const needed = pskCount(pattern);
  if (needed > 0) {
    checkKey(options.psk, "psk");
    if (options.psk.length !== PSK_LENGTH) throw new RangeError(`psk must be ${PSK_LENGTH} bytes`);
  } else if (options.psk !== undefined) {
    throw new TypeError(
      `a psk was given, but pattern ${name} uses none: use a psk pattern such as ${name}psk0`,
    );
  }
  const use = staticKeyUse(pattern, role === "initiator");
  if (options.staticKeyPair !== undefined || use.local) checkKeyPair(options.staticKeyPair, "staticKeyPair");
  if (options.remoteStaticKey !== undefined && !use.remoteBeforehand) {
    // Taking it would leave the key the peer sends unchecked: that key, not
    // this one, is the one the session is bound to.
    throw new TypeError(
      `remoteStaticKey was given, but in pattern ${name} the ${role} does not know the peer's key beforehand` +
        (use.remoteSent ? ": the peer sends it; check it in verifyRemote" : ""),
    );
  }
  if (use.remoteBeforehand) checkKey(options.remoteStaticKey, "remoteStaticKey");
  if (options.prologue !== undefined && !(options.prologue instanceof Uint8Array)) {
    throw new TypeError(`prologue must be a Uint8Array, got ${describe(options.prologue)}`);
  }
  if (options.verifyRemote !== undefined) {
    if (typeof options.verifyRemote !== "function") {
      throw new TypeError(`verifyRemote must be a function, got ${describe(options.verifyRemote)}`);
    }
    if (!use.remoteSent) {
      throw new TypeError(
        `verifyRemote was given, but in pattern ${name} the peer never sends the ${role} its static key` +
          (use.remoteBeforehand ? ": it is the remoteStaticKey given beforehand" : ""),
      );
    }
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new TypeError(`signal must be an AbortSignal, got ${describe(options.signal)}`);
  }
  // Looked up by identity, never read from `options`: no property of an
  // options object, Proxy or not, reaches the hooks.
  const hooks = testHooksFor(options);
  return {
    pattern,
    initiator: role === "initiator",
    cipher,
    hash,
    psks: Array.from({ length: needed }, () => options.psk!),
    bufferSize: checkBufferSize(options.bufferSize),
    closeTimeout: checkCloseTimeout(options.closeTimeout),
    hooks,
  };
}

function checkCloseTimeout(value: unknown): number {
  if (value === undefined) return DEFAULT_CLOSE_TIMEOUT;
  if (typeof value !== "number" || !(value >= 0) || value === Infinity) {
    throw new TypeError(`closeTimeout must be a number of milliseconds, 0 or more, got ${describe(value)}`);
  }
  return value;
}
