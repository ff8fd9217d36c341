/**
 * `connectClient()`: a client of an ipc server, found by name, that keeps
 * itself connected.
 *
 * @module
 */

import { type Addr, type CallOptions, formatAddr } from "../conn.ts";
import { connect } from "../transports/mod.ts";
import {
  ConnClosedError,
  ConnectionRefusedError,
  ConnError,
  HandshakeError,
  MessageTooLargeError,
} from "../errors.ts";
import { delay } from "../_async/delay.ts";
import { noop, type Waiter, waiter } from "../_async/waiter.ts";
import { WaitQueue } from "../_async/wait_queue.ts";
import { Fifo } from "../_async/fifo.ts";
import { checkBytes, checkOptions, checkWhole, describe, MAX_TIMEOUT, refusal } from "../_validate.ts";
import { type IpcAddress, resolveAddress } from "./_address.ts";
import { Inbox } from "./_inbox.ts";
import { log, logs } from "./_log.ts";
import { checkProtocol, checkSecurity, checkType } from "./_options.ts";
import { deadline, retryable, type Session } from "./_session.ts";
import { dialTether, type Security } from "./_tether_protocol.ts";
import { dialGolang, warmGolangKeys } from "./_golang_protocol.ts";
import {
  type IpcAddressOptions,
  type IpcMessage,
  type IpcProtocol,
  type IpcSecurityOptions,
  type IpcStatus,
  IpcStatusEvent,
} from "./types.ts";

/**
 * Options of {@linkcode connectClient}.
 *
 * @example
 * ```ts
 * import type { ClientOptions } from "@tether/tether/ipc";
 *
 * const options: ClientOptions = { name: "jobs", timeout: 5000, retryDelay: 250 };
 * console.log(options.name); // "jobs"
 * ```
 */
export interface ClientOptions extends IpcAddressOptions, IpcSecurityOptions {
  /** The server's name, as given to `serve()`. */
  name: string;
  /**
   * Milliseconds to keep dialing, when connecting and after each lost
   * connection, before giving up with status `"timeout"`; `0` (the
   * default) keeps trying until `close()`.
   */
  timeout?: number;
  /** Milliseconds between dials, ±50% jitter; default 1000. The first redial after a drop is immediate. */
  retryDelay?: number;
  /** Milliseconds one dial and its handshake may take; default 5000. */
  handshakeTimeout?: number;
  /**
   * Writes that may wait for a connection (while connecting or
   * reconnecting); default 1024. Past it, `write` rejects at once.
   */
  maxQueuedWrites?: number;
  /** Closes the client when it aborts. */
  signal?: AbortSignal;
  /** The wire protocol; default `"tether"`. */
  protocol?: IpcProtocol;
}

type State =
  | { readonly kind: "connecting" | "reconnecting" }
  | {
    readonly kind: "connected";
    readonly session: Session;
    readonly ended: Waiter<unknown>;
    /** Sending failed: the peer's last words (confirmations) are read before the loss is told. */
    draining?: { why: unknown; timer: ReturnType<typeof setTimeout> };
  }
  | { readonly kind: "closing" | "closed" }
  | { readonly kind: "timeout" | "error"; readonly error: Error };

interface QueuedWrite {
  type: number;
  data: Uint8Array;
  signal: AbortSignal | undefined;
}

const DEFAULT_RETRY_DELAY = 1000;
/** A timer that never needs to fire: it only keeps the process alive. */
const HOLD_MS = 2 ** 30;
/** Why a client's lifetime signal aborted: it was closed. */
const CLOSING = new ConnClosedError({ op: "close", detail: "the client was closed" });
const DEFAULT_HANDSHAKE_TIMEOUT = 5000;
const DEFAULT_MAX_QUEUED_WRITES = 1024;
/** How long a client whose sends failed keeps reading what its peer sent before it went. */
const DRAIN_MS = 500;

/**
 * The events a {@linkcode Client} fires.
 *
 * @example
 * ```ts
 * import type { ClientEventMap } from "@tether/tether/ipc";
 *
 * const seen: (keyof ClientEventMap)[] = ["statuschange"];
 * console.log(seen); // [ "statuschange" ]
 * ```
 */
export interface ClientEventMap {
  /** The client's status changed. */
  statuschange: IpcStatusEvent;
}

/**
 * A client of an ipc server. It connects in the background, redials after
 * a lost connection (with a fresh handshake each time), and fires
 * `statuschange` events ({@linkcode IpcStatusEvent}) as it goes. Make one
 * with {@linkcode connectClient}.
 *
 * What happens to messages when a connection drops:
 *
 * - A `write` that resolved was handed to that connection. The peer
 *   confirms the messages its application reads; the `"reconnecting"`
 *   event's `unconfirmed` counts those it had not confirmed: they may be
 *   lost (tether's protocol only).
 * - A `write` still pending on that connection rejects with
 *   `ConnClosedError`: it may or may not have arrived.
 * - A `write` made while (re)connecting waits for the next connection, in
 *   order, up to `maxQueuedWrites`, within its signal.
 * - Messages received before the drop and not read yet stay readable.
 *
 * @example
 * ```ts
 * import { connectClient, serve } from "@tether/tether/ipc";
 *
 * await using server = await serve({ name: `doc-${crypto.randomUUID()}` });
 * await using client = connectClient({ name: server.name });
 * client.addEventListener("statuschange", (e) => console.log(e.status)); // "connected"
 * await client.write(1, new TextEncoder().encode("hello"));
 * const { message } = await server.read();
 * console.log(new TextDecoder().decode(message.data)); // "hello"
 * ```
 */

export class Client extends EventTarget implements AsyncIterable<IpcMessage>, AsyncDisposable {
  /** The server's name. */
  readonly name: string;
  /** The address dialed. */
  readonly addr: Addr;
  /** The wire protocol. */
  readonly protocol: IpcProtocol;
  /** Resolves once the client first connects; rejects if it closes, times out or fails before. */
  readonly ready: Promise<void>;
  /** Resolves once the client is done: closed, timed out or failed, and its connection closed. */
  readonly closed: Promise<void>;
  readonly #where: string;
  readonly #address: IpcAddress;
  readonly #security: Security;
  readonly #timeout: number;
  readonly #retryDelay: number;
  readonly #handshakeTimeout: number;
  readonly #maxQueuedWrites: number;
  readonly #lifetime = new AbortController();
  readonly #ready = waiter<void>();
  /** `ready` has settled. */
  #readyDone = false;
  #state: State = { kind: "connecting" };
  readonly #inbox = new Inbox();
  /** Which session each run of inbox messages came from, to confirm them to it when read. */
  readonly #runs = new Fifo<{ session: Session; count: number }>();
  readonly #readers = new WaitQueue<IpcMessage>();
  readonly #queued = new WaitQueue<Promise<void>, QueuedWrite>();
  #maxMessageSize: number | undefined;

  /** Use {@linkcode connectClient}. */
  constructor(options: ClientOptions) {
    super();
    checkOptions(options, "connectClient");
    const protocol = this.protocol = checkProtocol(options.protocol);
    this.#address = resolveAddress(options, protocol);
    this.name = this.#address.label;
    this.#security = checkSecurity(options, "client", protocol);
    this.#timeout = checkWhole(options.timeout, "timeout", 0, MAX_TIMEOUT, 0);
    this.#retryDelay = checkWhole(options.retryDelay, "retryDelay", 0, MAX_TIMEOUT, DEFAULT_RETRY_DELAY);
    this.#handshakeTimeout = checkWhole(
      options.handshakeTimeout,
      "handshakeTimeout",
      1,
      MAX_TIMEOUT,
      DEFAULT_HANDSHAKE_TIMEOUT,
    );
    this.#maxQueuedWrites = checkWhole(
      options.maxQueuedWrites,
      "maxQueuedWrites",
      0,
      Number.MAX_SAFE_INTEGER,
      DEFAULT_MAX_QUEUED_WRITES,
    );
    const signal = options.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new TypeError(`signal must be an AbortSignal, got ${describe(signal)}`);
    }
    const target = this.#address.options as { path?: string; hostname?: string; port?: number };
    this.addr = target.path !== undefined
      ? { transport: this.#address.options.transport, address: target.path }
      : {
        transport: "tcp",
        address: `${target.hostname}:${target.port}`,
        hostname: target.hostname,
        port: target.port,
      };
    this.#where = formatAddr(this.addr);
    this.ready = this.#ready.promise;
    this.ready.catch(noop);
    if (protocol === "golang-ipc" && this.#security.encryption) warmGolangKeys();
    if (signal?.aborted) {
      this.#state = { kind: "closed" };
      this.#ready.reject(
        new ConnClosedError({ op: "connect", addr: this.#where, detail: "the client's signal aborted" }),
      );
      this.closed = Promise.resolve();
      return;
    }
    signal?.addEventListener("abort", () => this.close(), { once: true, signal: this.#lifetime.signal });
    this.closed = this.#run();
  }

  /** Listens for `statuschange` ({@linkcode IpcStatusEvent}), typed. */
  override addEventListener<K extends keyof ClientEventMap>(
    type: K,
    listener: (this: Client, event: ClientEventMap[K]) => void,
    options?: boolean | AddEventListenerOptions,
  ): void;
  /** Listens for any event. */
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void {
    super.addEventListener(type, listener, options);
  }

  /** Stops listening, typed. */
  override removeEventListener<K extends keyof ClientEventMap>(
    type: K,
    listener: (this: Client, event: ClientEventMap[K]) => void,
    options?: boolean | EventListenerOptions,
  ): void;
  /** Stops listening for any event. */
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void {
    super.removeEventListener(type, listener, options);
  }

  /** Where the client stands; see {@linkcode IpcStatus}. */
  get status(): IpcStatus {
    return this.#state.kind;
  }

  /** The largest message data the current (or last) connection carries; `undefined` before the first. */
  get maxMessageSize(): number | undefined {
    return this.#maxMessageSize;
  }

  /** The server's static public key, when connected with `keys`. */
  get remoteStaticKey(): Uint8Array | null {
    return this.#state.kind === "connected" ? this.#state.session.remoteStaticKey : null;
  }

  /**
   * The next message from the server. Waits (within the signal) while there
   * is none, across reconnects. Rejects with `ConnClosedError` once the
   * client is closed, or with the error that ended it (status `"timeout"` or
   * `"error"`).
   */
  read(options?: CallOptions): Promise<IpcMessage> {
    const refused = refusal(options);
    if (refused !== undefined) return Promise.reject(refused);
    if (this.#inbox.length > 0) return Promise.resolve(this.#take());
    const ended = this.#endError("read");
    if (ended !== null) return Promise.reject(ended);
    return this.#readers.wait(undefined, options?.signal);
  }

  /**
   * Sends one message of `type` (1 to 2^32 - 1) with `data`. Resolves once
   * the message is handed to the connection (the caller may then reuse
   * `data`). While the client is (re)connecting it waits for the
   * connection, within its signal, behind at most `maxQueuedWrites` others;
   * past that it rejects with a `ConnError` `ENOBUFS`. A message over the
   * server's `maxMessageSize` is a `MessageTooLargeError`; a bad type a
   * `RangeError`. See the class docs for what a lost connection does.
   */
  write(type: number, data: Uint8Array, options?: CallOptions): Promise<void> {
    try {
      checkType(type);
      checkBytes(data, "data");
    } catch (err) {
      return Promise.reject(err);
    }
    const refused = refusal(options);
    if (refused !== undefined) return Promise.reject(refused);
    const signal = options?.signal;
    const state = this.#state;
    if (state.kind === "connected" && state.draining === undefined) {
      return this.#send(state.session, type, data, signal);
    }
    const ended = this.#endError("write");
    if (ended !== null) return Promise.reject(ended);
    if (this.#maxMessageSize !== undefined && data.length > this.#maxMessageSize) {
      return Promise.reject(this.#tooLarge(data.length, this.#maxMessageSize));
    }
    if (this.#queued.length >= this.#maxQueuedWrites) {
      return Promise.reject(
        new ConnError({
          code: "ENOBUFS",
          op: "write",
          addr: this.#where,
          summary:
            `write queue full: ${this.#maxQueuedWrites} writes already wait for the client to (re)connect`,
          detail: 'wait for status "connected", or raise maxQueuedWrites',
          temporary: true,
        }),
      );
    }
    return this.#queued.wait({ type, data, signal }, signal) as unknown as Promise<void>;
  }

  /**
   * Closes the client: pending and later reads and writes reject with
   * `ConnClosedError`, a dial in progress stops, and the connection closes.
   * Idempotent.
   */
  close(): void {
    const kind = this.#state.kind;
    if (kind === "closing" || kind === "closed") return;
    const state = this.#state;
    const session = state.kind === "connected" ? state.session : null;
    const final = kind === "timeout" || kind === "error";
    if (!final) this.#setState({ kind: "closing" });
    // Its reason never reaches an application (whatever it stops sees the
    // client closing), so it is one shared error, not a new DOMException.
    this.#lifetime.abort(CLOSING);
    session?.close();
    if (state.kind === "connected") {
      if (state.draining !== undefined) clearTimeout(state.draining.timer);
      state.ended.resolve(null);
    }
    // Errors cost a stack trace each: made only for calls that wait.
    if (this.#readers.length > 0) this.#readers.rejectAll(this.#closedError("read"));
    if (this.#queued.length > 0) this.#queued.rejectAll(this.#closedError("write"));
    this.#inbox.clear();
    if (!this.#readyDone) this.#ready.reject(this.#closedError("connect"));
    this.#setState({ kind: "closed" });
  }

  /** Messages from the server until the client closes; throws if it times out or fails. */
  async *[Symbol.asyncIterator](): AsyncIterator<IpcMessage> {
    for (;;) {
      try {
        yield await this.read();
      } catch (err) {
        if (this.#state.kind === "closed" && err instanceof ConnClosedError) return;
        throw err;
      }
    }
  }

  /** Closes the client; `await using` calls it. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return this.closed;
  }

  // --- the connection loop ---

  async #run(): Promise<void> {
    let phase: "connecting" | "reconnecting" = "connecting";
    for (;;) {
      const session = await this.#establish(phase);
      if (session === null) return;
      const ended = waiter<unknown>();
      this.#attach(session, ended);
      this.#pump(session);
      await ended.promise;
      if (!this.#alive()) {
        // `closed` says the connection is closed too: its end-of-stream
        // record written, its socket released (within the secure conn's
        // closeTimeout, should the server not read).
        await session.conn.closed.catch(noop);
        return;
      }
      phase = "reconnecting";
    }
  }

  #alive(): boolean {
    const kind = this.#state.kind;
    return kind === "connecting" || kind === "reconnecting" || kind === "connected";
  }

  /** Dials and handshakes until it works; `null` once the client closed, timed out or failed. */
  async #establish(phase: "connecting" | "reconnecting"): Promise<Session | null> {
    const lifetime = this.#lifetime.signal;
    const phaseDeadline = this.#timeout > 0 ? deadline(lifetime, this.#timeout) : null;
    const phaseSignal = phaseDeadline?.signal ?? lifetime;
    const timedOut = () => phaseSignal.aborted && !lifetime.aborted;
    let last: unknown;
    try {
      for (let attempt = 0;; attempt++) {
        if (attempt > 0) {
          const wait = this.#retryDelay * (0.5 + Math.random());
          await delay(wait, phaseSignal).catch(noop);
        }
        if (lifetime.aborted) return null;
        if (timedOut()) return this.#fail("timeout", this.#timedOut(phase, last));
        log("debug", this.#who(), `dialing ${this.#where} (attempt ${attempt + 1})`);
        const attemptDeadline = deadline(phaseSignal, this.#handshakeTimeout);
        try {
          return await this.#dial(attemptDeadline.signal);
        } catch (err) {
          if (lifetime.aborted) return null;
          if (timedOut()) return this.#fail("timeout", this.#timedOut(phase, last ?? err));
          last = err;
          if (attemptDeadline.signal.aborted || isRetryable(err)) {
            if (logs("debug") || (attempt === 0 && logs("info"))) {
              log(
                attempt === 0 ? "info" : "debug",
                this.#who(),
                `no server yet (${describeError(err)}); retrying`,
              );
            }
            continue;
          }
          log("error", this.#who(), `giving up: ${describeError(err)}`);
          return this.#fail("error", err instanceof Error ? err : new Error(String(err)));
        } finally {
          attemptDeadline.release();
        }
      }
    } finally {
      phaseDeadline?.release();
    }
  }

  async #dial(signal: AbortSignal): Promise<Session> {
    const conn = await connect({ ...this.#address.options, signal } as Parameters<typeof connect>[0]);
    try {
      const context = { addr: this.#where, signal };
      return this.protocol === "golang-ipc"
        ? await dialGolang(conn, context, this.#security.encryption)
        : await dialTether(conn, context, this.#security);
    } catch (err) {
      conn.close();
      if (signal.aborted && !(err instanceof HandshakeError)) {
        throw new ConnError({
          code: "ETIMEDOUT",
          op: "handshake",
          addr: this.#where,
          summary: "timed out",
          detail: `the handshake took over ${this.#handshakeTimeout} ms`,
          timeout: true,
          cause: err,
        });
      }
      throw err;
    }
  }

  #timedOut(phase: string, last: unknown): ConnError {
    return new ConnError({
      code: "ETIMEDOUT",
      op: "connect",
      addr: this.#where,
      summary: "timed out",
      detail: `no connection was made within the timeout of ${this.#timeout} ms while ${phase}` +
        (last === undefined ? "" : `; last: ${describeError(last)}`),
      timeout: true,
      cause: last,
    });
  }

  #fail(kind: "timeout" | "error", error: Error): null {
    this.#setState({ kind, error }, { error });
    this.#readers.rejectAll(error);
    this.#queued.rejectAll(error);
    this.#readyDone = true;
    this.#ready.reject(error);
    return null;
  }

  /** The connection is up: queued writes go first, in order, then the world learns. */
  #attach(session: Session, ended: Waiter<unknown>): void {
    this.#maxMessageSize = session.maxMessageSize;
    for (const w of this.#queued.drain()) {
      const { type, data, signal } = w.data;
      w.resolve(
        data.length > session.maxMessageSize
          ? Promise.reject(this.#tooLarge(data.length, session.maxMessageSize))
          : this.#send(session, type, data, signal),
      );
    }
    this.#state = { kind: "connected", session, ended };
    log("info", this.#who(), `connected to ${this.#where}`);
    this.#emit("connected");
    this.#readyDone = true;
    this.#ready.resolve();
  }

  /** Reads the session's messages into the inbox until it ends. */
  async #pump(session: Session): Promise<void> {
    try {
      for (;;) {
        const message = await session.receive();
        if (message === null) {
          this.#lose(
            session,
            new ConnClosedError({
              op: "read",
              addr: this.#where,
              detail: "the server closed the connection",
            }),
          );
          return;
        }
        if (this.#deliver(message, session)) continue;
        // Nothing reads the connection while the application catches up, so
        // a timer keeps the process alive meanwhile, as the read would.
        const holding = setInterval(noop, HOLD_MS);
        try {
          await this.#inbox.room();
        } finally {
          clearInterval(holding);
        }
        if (!this.#current(session)) return;
      }
    } catch (err) {
      this.#lose(session, err);
    }
  }

  /**
   * The session's connection ended (`why`). When sending failed first, what
   * the peer sent before it went (its confirmations) is still read, for up
   * to {@linkcode DRAIN_MS}, so that `unconfirmed` counts only what is
   * really unconfirmed; writes meanwhile wait for the next connection.
   */
  #lose(session: Session, why: unknown, from: "send" | "receive" | "drained" = "receive"): void {
    const state = this.#state;
    if (state.kind !== "connected" || state.session !== session) return;
    if (from === "send" && state.draining === undefined) {
      state.draining = { why, timer: setTimeout(() => this.#lose(session, why, "drained"), DRAIN_MS) };
      return;
    }
    if (state.draining !== undefined) {
      clearTimeout(state.draining.timer);
      why = state.draining.why;
    }
    const unconfirmed = session.unconfirmed;
    session.close();
    this.#inbox.wake();
    log(
      "info",
      this.#who(),
      `connection lost (${describeError(why)}); reconnecting` +
        (unconfirmed ? `, ${unconfirmed} sent message(s) unconfirmed` : ""),
    );
    this.#setState({ kind: "reconnecting" }, { error: why, unconfirmed });
    state.ended.resolve(why);
  }

  #current(session: Session): boolean {
    return this.#state.kind === "connected" && this.#state.session === session;
  }

  /** Hands a message to a waiting reader, or queues it; `false` once the inbox is full. */
  #deliver(message: IpcMessage, session: Session): boolean {
    if (this.#inbox.length === 0 && this.#readers.length > 0) {
      session.delivered();
      this.#readers.resolveNext(message);
      return true;
    }
    const runs = this.#runs;
    const last = runs.length > 0 ? runs.at(runs.length - 1) : undefined;
    if (last !== undefined && last.session === session) last.count++;
    else runs.push({ session, count: 1 });
    return this.#inbox.push(message);
  }

  #take(): IpcMessage {
    const run = this.#runs.at(0);
    run.session.delivered();
    if (--run.count === 0) this.#runs.shift();
    return this.#inbox.shift();
  }

  #send(session: Session, type: number, data: Uint8Array, signal: AbortSignal | undefined): Promise<void> {
    if (data.length > session.maxMessageSize) {
      return Promise.reject(this.#tooLarge(data.length, session.maxMessageSize));
    }
    return session.send(type, data, signal).catch((err) => this.#sendFailed(session, err, signal));
  }

  #sendFailed(session: Session, err: unknown, signal: AbortSignal | undefined): never {
    if (signal?.aborted && err === signal.reason) throw err;
    if (this.#state.kind === "closing" || this.#state.kind === "closed") {
      throw new ConnClosedError({
        op: "write",
        addr: this.#where,
        detail: "the client was closed",
        cause: err,
      });
    }
    this.#lose(session, err, "send");
    throw new ConnClosedError({
      op: "write",
      addr: this.#where,
      detail: "the connection dropped while the message was being sent: it may or may not have arrived",
      cause: err,
    });
  }

  #tooLarge(size: number, limit: number): MessageTooLargeError {
    return new MessageTooLargeError({
      op: "write",
      addr: this.#where,
      size,
      limit,
      detail: "the server's maxMessageSize",
    });
  }

  #closedError(op: string): ConnClosedError {
    return new ConnClosedError({ op, addr: this.#where, detail: "the client was closed" });
  }

  /** The error a read or write gets once the client is done, or `null` while it lives. */
  #endError(op: string): Error | null {
    const state = this.#state;
    if (state.kind === "timeout" || state.kind === "error") return state.error;
    if (state.kind === "closing" || state.kind === "closed") {
      return new ConnClosedError({ op, addr: this.#where, detail: "the client was closed" });
    }
    return null;
  }

  #setState(state: State, init: { error?: unknown; unconfirmed?: number } = {}): void {
    this.#state = state;
    this.#emit(state.kind, init);
  }

  #emit(status: IpcStatus, init: { error?: unknown; unconfirmed?: number } = {}): void {
    this.dispatchEvent(new IpcStatusEvent(status, init));
  }

  #who(): string {
    return `client ${this.name}`;
  }
}

function isRetryable(err: unknown): boolean {
  if (err instanceof ConnectionRefusedError) return true;
  if (err instanceof ConnError && (err.temporary || err.timeout)) return true;
  return retryable(err);
}

function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Connects to the ipc server named `name` and returns the client at once;
 * it connects in the background (status `"connecting"`, then
 * `"connected"`). `await client.ready` to wait for the first connection.
 *
 * Encryption is on by default and must match the server's settings: Noise
 * NN (encrypts, authenticates nobody), NNpsk0 with a `psk`, or static
 * `keys`. A mismatch ends the client with status `"error"` and a
 * `HandshakeError` naming both sides' settings.
 *
 * @example
 * ```ts
 * import { connectClient, serve } from "@tether/tether/ipc";
 *
 * const psk = crypto.getRandomValues(new Uint8Array(32));
 * await using server = await serve({ name: `doc-${crypto.randomUUID()}`, psk });
 * await using client = connectClient({ name: server.name, psk, timeout: 5000 });
 * await client.ready;
 * console.log(client.status); // "connected"
 * ```
 */
export function connectClient(options: ClientOptions): Client {
  return new Client(options);
}
