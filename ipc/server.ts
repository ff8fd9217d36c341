/**
 * `serve()`: an ipc server under a name, for one client at a time or many.
 *
 * @module
 */

import { type Addr, type CallOptions, type Conn, formatAddr } from "../conn.ts";
import type { Listener } from "../listener.ts";
import { listen, type ListenOptions } from "../transports/mod.ts";
import { abortError, ConnClosedError, ConnError, MessageTooLargeError } from "../errors.ts";
import { DEFAULT_MAX_MESSAGE_SIZE, MAX_MESSAGE_SIZE_LIMIT } from "../frame.ts";
import { Fifo } from "../_async/fifo.ts";
import { SharedTimer } from "../_async/shared_timer.ts";
import { WaitQueue } from "../_async/wait_queue.ts";
import { checkBytes, checkOptions, checkWhole, describe, MAX_TIMEOUT, refusal } from "../_validate.ts";
import { resolveAddress } from "./_address.ts";
import { Inbox } from "./_inbox.ts";
import { log } from "./_log.ts";
import { checkProtocol, checkSecurity, checkType } from "./_options.ts";
import { deadline, type Session } from "./_session.ts";
import { acceptTether, type Security } from "./_tether_protocol.ts";
import { acceptGolang, warmGolangKeys } from "./_golang_protocol.ts";
import {
  type IpcAddressOptions,
  type IpcMessage,
  type IpcProtocol,
  type IpcSecurityOptions,
  type IpcStatus,
  IpcStatusEvent,
} from "./types.ts";

/**
 * Options of {@linkcode serve}.
 *
 * @example
 * ```ts
 * import type { ServeOptions } from "@tether/tether/ipc";
 *
 * const options: ServeOptions = { name: "jobs", multiClient: true, maxMessageSize: 1024 * 1024 };
 * console.log(options.multiClient); // true
 * ```
 */
export interface ServeOptions extends IpcAddressOptions, IpcSecurityOptions {
  /**
   * The server's name: a Unix socket `NAME.sock` in `$XDG_RUNTIME_DIR`
   * (else the temp dir), the pipe `\\.\pipe\NAME` on Windows; with
   * `protocol: "golang-ipc"`, golang-ipc's own path, `/tmp/NAME.sock`.
   */
  name: string;
  /** The largest message data either side may send; default 3 MiB (at most 1 GiB). Clients learn it in the handshake. */
  maxMessageSize?: number;
  /** Serve many clients at once (`true`), or one at a time (`false`, the default: a second one is refused). */
  multiClient?: boolean;
  /** The Unix socket file's mode; default `0o600` (owner only). */
  mode?: number;
  /** Milliseconds a client may take to complete its handshake; default 5000. */
  handshakeTimeout?: number;
  /**
   * Milliseconds a client may leave the server's messages untaken: once
   * writes to it have waited this long in all with none of them going
   * through (it stopped reading, and its buffers are full), the server
   * drops it, its waiting writes reject, and `write()`s and `broadcast()`s
   * to the others go on. Writes given up on their own signals count, as
   * they went through no more than the others. Default 10000 (at most
   * 2147483647); `Infinity` waits for ever.
   */
  writeTimeout?: number;
  /** Closes the server when it aborts. */
  signal?: AbortSignal;
  /** The wire protocol; default `"tether"`. */
  protocol?: IpcProtocol;
}

/**
 * A message a {@linkcode Server} received, and the client it came from.
 *
 * @example
 * ```ts
 * import type { ServerMessage } from "@tether/tether/ipc";
 *
 * function answer({ client, message }: ServerMessage) {
 *   return client.write(message.type, message.data); // echo it
 * }
 * console.log(typeof answer); // "function"
 * ```
 */
export interface ServerMessage {
  /** The client that sent it; write to it to answer. */
  readonly client: ServerClient;
  /** The message. */
  readonly message: IpcMessage;
}

let nextClientId = 1;

/** What the server keeps of each client, out of the public API. */
interface Internals {
  /** Its connection. */
  readonly session: Session;
  /** Its received messages, waiting for `read()`. */
  readonly inbox: Inbox;
  /** Marks it closed and closes its session; `false` if it already was. */
  end(): boolean;
}

const internals = new WeakMap<ServerClient, Internals>();

/** What a client needs of its server: the address errors name, its write deadline, and how to say its connection ended. */
interface ServerLink {
  readonly where: string;
  readonly writeTimeout: number;
  ended(client: ServerClient, err: unknown): void;
}

/** The write deadlines of every server's clients, on one timer. */
const stalls = new SharedTimer({ unref: true });

function inner(client: ServerClient): Internals {
  return internals.get(client)!;
}

/**
 * One client of a {@linkcode Server}, as the server sees it: write to it to
 * answer, close it to drop it. Its status is `"connected"` until its
 * connection ends (`"closed"`); the server fires a `statuschange` event
 * carrying it then.
 *
 * @example
 * ```ts
 * import { connectClient, serve } from "@tether/tether/ipc";
 *
 * await using server = await serve({ name: `doc-${crypto.randomUUID()}` });
 * await using client = connectClient({ name: server.name });
 * await client.write(1, new Uint8Array([1]));
 * const { client: peer } = await server.read();
 * console.log(peer.status, server.clients.has(peer)); // "connected" true
 * ```
 */
export class ServerClient {
  /** A number unique in this process, for logs. */
  readonly id: number = nextClientId++;
  /** The client's address (for Unix sockets, unnamed). */
  readonly remoteAddr: Addr;
  readonly #session: Session;
  readonly #server: ServerLink;
  #status: "connected" | "closed" = "connected";
  /** Writes handed to the session and not settled. */
  #waiting = 0;
  /** Since when writes have been waiting (`#waiting` > 0), or `null`. */
  #waitingSince: number | null = null;
  /**
   * How long writes waited, before `#waitingSince`, since one last went
   * through: writes given up on their own signals go through no more than
   * the client read, so their waits add up.
   */
  #stalledFor = 0;
  /** Why the server dropped it, when it was for not reading. */
  #stallError: ConnError | undefined;

  /** Made by the server once a client's handshake succeeds; not for applications. */
  constructor(server: ServerLink, session: Session) {
    this.#server = server;
    this.#session = session;
    this.remoteAddr = session.conn.remoteAddr;
    const inbox = new Inbox();
    internals.set(this, {
      session,
      inbox,
      end: () => {
        if (this.#status === "closed") return false;
        this.#status = "closed";
        session.close();
        inbox.wake();
        return true;
      },
    });
  }

  /** `"connected"`, then `"closed"` once its connection ended. */
  get status(): "connected" | "closed" {
    return this.#status;
  }

  /** The client's static public key, when the server authenticates clients with `keys`. */
  get remoteStaticKey(): Uint8Array | null {
    return this.#session.remoteStaticKey;
  }

  /**
   * Sends this client one message; resolves once it is handed to the
   * connection. Rejects with `ConnClosedError` once the client is gone.
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
    if (this.#status === "closed") return Promise.reject(this.#closedError());
    const limit = this.#session.maxMessageSize;
    if (data.length > limit) {
      return Promise.reject(
        new MessageTooLargeError({ op: "write", addr: this.#server.where, size: data.length, limit }),
      );
    }
    const signal = options?.signal;
    if (this.#waiting++ === 0 && this.#server.writeTimeout !== Infinity) {
      this.#waitingSince = performance.now();
      this.#watch();
    }
    return this.#session.send(type, data, signal).then(this.#wentThrough, (err) => {
      this.#settled(false);
      if (signal?.aborted && err === signal.reason) throw err;
      this.#server.ended(this, err);
      throw this.#closedError(err);
    });
  }

  readonly #wentThrough = (): void => this.#settled(true);

  /** A write settled: through (the client is reading: the clock starts again) or not. */
  #settled(through: boolean): void {
    this.#waiting--;
    if (this.#waitingSince === null) return; // writeTimeout is Infinity
    const now = performance.now();
    if (through) this.#stalledFor = 0;
    else if (this.#waiting === 0) this.#stalledFor += now - this.#waitingSince;
    if (this.#waiting === 0) {
      this.#waitingSince = null;
      stalls.remove(this);
    } else if (through) {
      this.#waitingSince = now;
      this.#watch();
    }
  }

  /** Drops the client once writes to it have waited `writeTimeout` in all with none going through. */
  #watch(): void {
    const ms = this.#server.writeTimeout;
    stalls.add(this, ms - this.#stalledFor - (performance.now() - this.#waitingSince!), () => {
      if (this.#waitingSince === null || this.#status === "closed") return;
      if (this.#stalledFor + performance.now() - this.#waitingSince < ms) return this.#watch();
      this.#stallError = new ConnError({
        code: "ETIMEDOUT",
        op: "write",
        addr: this.#server.where,
        timeout: true,
        summary: `client ${this.id} stopped reading`,
        detail: `no message to it went through in ${ms} ms, so the server dropped it; ` +
          "raise the server's writeTimeout to allow slower readers",
      });
      this.#server.ended(this, this.#stallError);
    });
  }

  /** Drops the client: closes its connection. Idempotent. */
  close(): void {
    this.#server.ended(this, null);
  }

  #closedError(cause?: unknown): ConnClosedError {
    return new ConnClosedError({
      op: "write",
      addr: this.#server.where,
      detail: `client ${this.id} is gone`,
      cause: this.#stallError ?? cause,
    });
  }
}

const DEFAULT_HANDSHAKE_TIMEOUT = 5000;
const DEFAULT_WRITE_TIMEOUT = 10_000;

type ServerState =
  | { readonly kind: "listening" }
  | { readonly kind: "closing" | "closed" }
  | { readonly kind: "error"; readonly error: Error };

/**
 * The events a {@linkcode Server} fires.
 *
 * @example
 * ```ts
 * import type { ServerEventMap } from "@tether/tether/ipc";
 *
 * const seen: (keyof ServerEventMap)[] = ["statuschange", "error"];
 * console.log(seen.length); // 2
 * ```
 */
export interface ServerEventMap {
  /** The server's status, or one of its clients' (then `event.client` is set), changed. */
  statuschange: IpcStatusEvent<ServerClient>;
  /** A client failed its handshake (`event.error` says why); it was dropped. */
  error: ErrorEvent;
}

/**
 * An ipc server: accepts clients under its name, hands their messages to
 * `read()` (or `for await`), merged fairly across clients, and fires
 * `statuschange` events ({@linkcode IpcStatusEvent}) as clients come and
 * go (each carrying its `client`). A client whose handshake fails fires an
 * `"error"` event (an `ErrorEvent`) and is dropped; the server carries on.
 * Make one with {@linkcode serve}.
 *
 * @example An echo server for many clients
 * ```ts
 * import { connectClient, serve } from "@tether/tether/ipc";
 *
 * await using server = await serve({ name: `doc-${crypto.randomUUID()}`, multiClient: true });
 * (async () => {
 *   for await (const { client, message } of server) await client.write(message.type, message.data);
 * })();
 * await using client = connectClient({ name: server.name });
 * await client.write(5, new TextEncoder().encode("ping"));
 * const reply = await client.read();
 * console.log(reply.type, new TextDecoder().decode(reply.data)); // 5 "ping"
 * ```
 */

export class Server extends EventTarget implements AsyncIterable<ServerMessage>, AsyncDisposable {
  /** The server's name. */
  readonly name: string;
  /** The address it listens on. */
  readonly addr: Addr;
  /** The wire protocol. */
  readonly protocol: IpcProtocol;
  /** The largest message data either side may send. */
  readonly maxMessageSize: number;
  /** Whether it serves many clients at once. */
  readonly multiClient: boolean;
  /** Resolves once the server is closed and every connection with it. */
  readonly closed: Promise<void>;
  /** The address, as errors name it. */
  readonly #where: string;
  /** What its clients call back. */
  readonly #link: ServerLink;
  readonly #listener: Listener;
  readonly #security: Security;
  readonly #handshakeTimeout: number;
  readonly #lifetime = new AbortController();
  readonly #clients = new Set<ServerClient>();
  /** Clients with messages waiting, in turn: one message each per round. */
  readonly #ready = new Fifo<ServerClient>();
  readonly #readers = new WaitQueue<ServerMessage>();
  readonly #handshakes = new Set<Promise<void>>();
  /** One-client mode: a client holds the slot, from its hello until it leaves. */
  #slotTaken = false;
  #state: ServerState = { kind: "listening" };

  /** @internal Use {@linkcode serve}. */
  constructor(
    listener: Listener,
    init: {
      name: string;
      protocol: IpcProtocol;
      security: Security;
      maxMessageSize: number;
      multiClient: boolean;
      handshakeTimeout: number;
      writeTimeout: number;
      signal?: AbortSignal;
    },
  ) {
    super();
    this.#listener = listener;
    this.addr = listener.addr;
    this.#where = formatAddr(listener.addr);
    this.#link = {
      where: this.#where,
      writeTimeout: init.writeTimeout,
      ended: (client, err) => this.#ended(client, err),
    };
    this.name = init.name;
    this.protocol = init.protocol;
    this.#security = init.security;
    this.maxMessageSize = init.maxMessageSize;
    this.multiClient = init.multiClient;
    this.#handshakeTimeout = init.handshakeTimeout;
    init.signal?.addEventListener("abort", () => this.close(), { once: true, signal: this.#lifetime.signal });
    this.closed = this.#acceptLoop();
    log(
      "info",
      this.#who(),
      `listening (${this.protocol} protocol, ${this.multiClient ? "many clients" : "one client at a time"})`,
    );
  }

  /** Listens for `statuschange` ({@linkcode IpcStatusEvent}), and `error`, typed. */
  override addEventListener<K extends keyof ServerEventMap>(
    type: K,
    listener: (this: Server, event: ServerEventMap[K]) => void,
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
  override removeEventListener<K extends keyof ServerEventMap>(
    type: K,
    listener: (this: Server, event: ServerEventMap[K]) => void,
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

  /** `"listening"`, `"closing"`, `"closed"`, or `"error"` if its listener failed. */
  get status(): IpcStatus {
    return this.#state.kind;
  }

  /** The clients connected now. */
  get clients(): ReadonlySet<ServerClient> {
    return this.#clients;
  }

  /**
   * The next message from any client, with the client. Clients take turns:
   * one with many messages waiting does not hold back the others. Rejects
   * with `ConnClosedError` once the server is closed.
   */
  read(options?: CallOptions): Promise<ServerMessage> {
    const refused = refusal(options);
    if (refused !== undefined) return Promise.reject(refused);
    if (this.#ready.length > 0) return Promise.resolve(this.#take());
    if (this.#state.kind !== "listening") return Promise.reject(this.#closedError("read"));
    return this.#readers.wait(undefined, options?.signal);
  }

  /**
   * One-client mode (`multiClient: false`): sends the connected client a
   * message. Rejects with a `ConnError` `ENOTCONN` when none is connected.
   * With `multiClient: true` it is a `TypeError`: answer with
   * `client.write()`, or use `broadcast()`.
   */
  write(type: number, data: Uint8Array, options?: CallOptions): Promise<void> {
    if (this.multiClient) {
      return Promise.reject(
        new TypeError("server.write() is for one-client servers: use client.write() or server.broadcast()"),
      );
    }
    const [client] = this.#clients;
    if (client === undefined) {
      return Promise.reject(
        new ConnError({
          code: "ENOTCONN",
          op: "write",
          addr: this.#where,
          summary: "no client is connected",
        }),
      );
    }
    return client.write(type, data, options);
  }

  /**
   * Sends every connected client the message; resolves with how many took
   * it, once each has (a client that leaves meanwhile is skipped).
   */
  async broadcast(type: number, data: Uint8Array, options?: CallOptions): Promise<number> {
    checkType(type);
    checkBytes(data, "data");
    const results = await Promise.allSettled([...this.#clients].map((c) => c.write(type, data, options)));
    const signal = options?.signal;
    if (signal?.aborted) throw signal.reason;
    return results.filter((r) => r.status === "fulfilled").length;
  }

  /**
   * Closes the server: stops listening (removing the socket file), drops
   * every client, and rejects pending reads with `ConnClosedError`.
   * Idempotent.
   */
  close(): void {
    const kind = this.#state.kind;
    if (kind === "closing" || kind === "closed") return;
    if (kind !== "error") this.#setState({ kind: "closing" });
    this.#lifetime.abort();
    this.#listener.close();
    for (const client of [...this.#clients]) this.#ended(client, null);
    this.#readers.rejectAll(this.#closedError("read"));
    for (let i = 0; i < this.#ready.length; i++) inner(this.#ready.at(i)).inbox.clear();
    while (this.#ready.length > 0) this.#ready.shift();
    log("info", this.#who(), "closed");
    this.#setState({ kind: "closed" });
  }

  /** Messages from every client until the server closes. */
  async *[Symbol.asyncIterator](): AsyncIterator<ServerMessage> {
    for (;;) {
      try {
        yield await this.read();
      } catch (err) {
        if (this.#state.kind !== "listening" && err instanceof ConnClosedError) return;
        throw err;
      }
    }
  }

  /** Closes the server; `await using` calls it. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return this.closed;
  }

  /** A client's connection ended (`err` says why; `null` for a clean end or a close). */
  #ended(client: ServerClient, err: unknown): void {
    const unconfirmed = inner(client).session.unconfirmed;
    if (!inner(client).end()) return;
    this.#clients.delete(client);
    if (!this.multiClient) this.#slotTaken = false;
    log(
      err ? "warn" : "info",
      this.#who(),
      `client ${client.id} left` + (err ? ` (${describeError(err)})` : ""),
    );
    this.dispatchEvent(
      new IpcStatusEvent<ServerClient>("closed", { client, error: err ?? undefined, unconfirmed }),
    );
  }

  async #acceptLoop(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        const handshake = this.#handshake(conn);
        this.#handshakes.add(handshake);
        handshake.finally(() => this.#handshakes.delete(handshake));
      }
    } catch (err) {
      if (this.#state.kind === "listening") {
        const error = err instanceof Error ? err : new Error(String(err));
        log("error", this.#who(), `listener failed: ${error.message}`);
        this.#state = { kind: "error", error };
        this.dispatchEvent(new IpcStatusEvent<ServerClient>("error", { error }));
        this.close();
      }
    }
    await Promise.allSettled([...this.#handshakes]);
  }

  async #handshake(conn: Conn): Promise<void> {
    let admitted = false;
    const admit = () => {
      if (this.multiClient) return true;
      if (this.#slotTaken) return false;
      this.#slotTaken = admitted = true;
      return true;
    };
    const handshakeDeadline = deadline(this.#lifetime.signal, this.#handshakeTimeout);
    const signal = handshakeDeadline.signal;
    const context = { addr: this.#where, signal };
    let session: Session;
    try {
      session = this.protocol === "golang-ipc"
        ? await acceptGolang(conn, context, {
          encryption: this.#security.encryption,
          maxMessageSize: this.maxMessageSize,
          admit,
        })
        : await acceptTether(conn, context, {
          security: this.#security,
          maxMessageSize: this.maxMessageSize,
          admit,
        });
    } catch (err) {
      conn.close();
      if (admitted) this.#slotTaken = false;
      if (this.#lifetime.signal.aborted) return;
      const error = signal.aborted && !(err instanceof ConnError && err.code === "EHANDSHAKE")
        ? abortError(signal.reason, {
          op: "handshake",
          addr: this.#where,
          detail: `the client did not complete its handshake within ${this.#handshakeTimeout} ms`,
        })
        : err;
      log("warn", this.#who(), `a client failed its handshake: ${describeError(error)}`);
      this.dispatchEvent(new ErrorEvent("error", { error, message: describeError(error) }));
      return;
    } finally {
      handshakeDeadline.release();
    }
    if (this.#state.kind !== "listening") {
      session.close();
      return;
    }
    const client = new ServerClient(this.#link, session);
    this.#clients.add(client);
    log("info", this.#who(), `client ${client.id} connected`);
    this.dispatchEvent(new IpcStatusEvent<ServerClient>("connected", { client }));
    this.#pump(client);
  }

  async #pump(client: ServerClient): Promise<void> {
    const session = inner(client).session;
    try {
      for (;;) {
        const message = await session.receive();
        if (message === null) return this.#ended(client, null);
        if (this.#deliver(client, message)) continue;
        await inner(client).inbox.room();
        if (client.status === "closed") return;
      }
    } catch (err) {
      this.#ended(client, client.status === "closed" ? null : err);
    }
  }

  /** Hands a message to a waiting reader, or queues it; `false` once that client's inbox is full. */
  #deliver(client: ServerClient, message: IpcMessage): boolean {
    if (this.#ready.length === 0 && this.#readers.length > 0) {
      inner(client).session.delivered();
      this.#readers.resolveNext({ client, message });
      return true;
    }
    const inbox = inner(client).inbox;
    if (inbox.length === 0) this.#ready.push(client);
    return inbox.push(message);
  }

  #take(): ServerMessage {
    const client = this.#ready.shift();
    const message = inner(client).inbox.shift();
    inner(client).session.delivered();
    if (inner(client).inbox.length > 0) this.#ready.push(client);
    return { client, message };
  }

  #closedError(op: string): ConnClosedError {
    return new ConnClosedError({ op, addr: this.#where, detail: "the server was closed" });
  }

  #setState(state: ServerState): void {
    this.#state = state;
    this.dispatchEvent(new IpcStatusEvent<ServerClient>(state.kind));
  }

  #who(): string {
    return `server ${this.name}`;
  }
}

function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Starts an ipc server named `name`; resolves once it listens (status
 * `"listening"`). Encryption is on by default (Noise NN); give a `psk` or
 * static `keys` to authenticate. See {@linkcode Server}.
 *
 * @example
 * ```ts
 * import { connectClient, serve } from "@tether/tether/ipc";
 *
 * await using server = await serve({ name: `doc-${crypto.randomUUID()}` });
 * await using client = connectClient({ name: server.name });
 * await client.write(7, new TextEncoder().encode("job 1"));
 * for await (const { message } of server) {
 *   console.log(message.type, new TextDecoder().decode(message.data)); // 7 "job 1"
 *   break;
 * }
 * ```
 */
export async function serve(options: ServeOptions): Promise<Server> {
  checkOptions(options, "serve");
  const protocol = checkProtocol(options.protocol);
  const address = resolveAddress(options, protocol);
  const security = checkSecurity(options, "server", protocol);
  const maxMessageSize = checkWhole(
    options.maxMessageSize,
    "maxMessageSize",
    0,
    MAX_MESSAGE_SIZE_LIMIT,
    DEFAULT_MAX_MESSAGE_SIZE,
  );
  const multiClient = options.multiClient ?? false;
  if (typeof multiClient !== "boolean") {
    throw new TypeError(`multiClient must be a boolean, got ${describe(multiClient)}`);
  }
  const handshakeTimeout = checkWhole(
    options.handshakeTimeout,
    "handshakeTimeout",
    1,
    MAX_TIMEOUT,
    DEFAULT_HANDSHAKE_TIMEOUT,
  );
  const writeTimeout = options.writeTimeout === Infinity
    ? Infinity
    : checkWhole(options.writeTimeout, "writeTimeout", 1, MAX_TIMEOUT, DEFAULT_WRITE_TIMEOUT);
  const signal = options.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`signal must be an AbortSignal, got ${describe(signal)}`);
  }
  const target = address.options as { path?: string };
  if (signal?.aborted) {
    throw abortError(signal.reason, {
      op: "listen",
      addr: `${address.options.transport}:${target.path ?? address.label}`,
    });
  }
  const listenOptions = { ...address.options } as ListenOptions & { mode?: number; signal?: unknown };
  delete listenOptions.signal;
  if (options.mode !== undefined) {
    if (listenOptions.transport !== "unix") {
      throw new TypeError(`mode is for Unix sockets, not ${listenOptions.transport}`);
    }
    listenOptions.mode = options.mode;
  }
  if (protocol === "golang-ipc" && security.encryption) warmGolangKeys();
  const listener = await listen(listenOptions) as Listener;
  return new Server(listener, {
    name: address.label,
    protocol,
    security,
    maxMessageSize,
    multiClient,
    handshakeTimeout,
    writeTimeout,
    signal,
  });
}
