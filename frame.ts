/**
 * Messages over any {@linkcode Conn}: `frames(conn)` cuts the byte stream
 * into length-prefixed messages, with a maximum size enforced on both sides;
 * `typedFrames(conn)` also carries an integer message type with each one.
 *
 * A {@linkcode FramedConn} keeps the rules of a `Conn`: every call takes an
 * `AbortSignal`; an aborted `receive` consumed nothing (a message half read
 * is kept whole for the next call); a sender waits while its peer does not
 * read; concurrent sends never interleave and concurrent receives are served
 * in call order.
 *
 * ## Wire format
 *
 * A stream of frames, nothing before or between them. All integers are
 * unsigned, big-endian.
 *
 * ```text
 * frame       = length:u32  data:length bytes             (frames)
 * typed frame = length:u32  type:u32  data:length bytes   (typedFrames)
 * ```
 *
 * - `length` counts the data bytes only (not the header); 0 is a valid,
 *   empty message.
 * - `type` is the sender's message type, 1 to 2^32 - 1; 0 is reserved.
 * - A receiver refuses a `length` over its `maxMessageSize` (default 3 MiB,
 *   at most 1 GiB) with `MessageTooLargeError` as soon as it reads the
 *   header, before it allocates anything for the body, and closes the conn.
 *   A body the host cannot allocate is refused the same way.
 * - A type of 0, or EOF inside a frame (a partial header or body), is a
 *   `ProtocolError`, and the conn is closed. EOF between frames is a clean
 *   end: `receive()` resolves with `null`.
 * - Both ends must agree on framed or typed; nothing on the wire tells them
 *   apart.
 *
 * ## Aborted sends
 *
 * A message is delivered whole or not at all, and an aborted send leaves the
 * framed conn usable:
 *
 * - A send whose signal aborts before its turn comes (while earlier sends
 *   are still writing) rejects with `signal.reason` and writes nothing.
 * - A send whose signal aborts once its frame has started to be written
 *   also rejects with `signal.reason` at once, but the frame is finished in
 *   the background, from a private copy of what was not yet written, so the
 *   caller may reuse its buffer at once. The peer receives that message
 *   whole (unless the conn is closed or fails first), and later sends follow
 *   it. Such a rejection means "stopped waiting", not "not delivered", as
 *   with a timed-out request.
 * - At most one message is being finished that way (later sends wait their
 *   turn behind it), so the memory it takes is one message copy at most.
 * - A peer that stops reading keeps that frame, and every later send,
 *   waiting: `close()` gives up on it. Closing cuts a frame still being
 *   written, so after `close()` the peer may see a cut final frame: a
 *   `ProtocolError`, or a clean EOF after the last whole message if none of
 *   its bytes got through.
 *
 * @example A request and its reply
 * ```ts
 * import { frames, pipe } from "@tether/tether";
 *
 * const [a, b] = pipe();
 * await using client = frames(a);
 * await using server = frames(b);
 * await client.send(new TextEncoder().encode("ping"));
 * const request = await server.receive();
 * await server.send(request!);
 * console.log(new TextDecoder().decode((await client.receive())!)); // "ping"
 * ```
 *
 * @module
 */

import type { CallOptions, Conn } from "./conn.ts";
import { ConnClosedError, MessageTooLargeError, ProtocolError } from "./errors.ts";
import { FrameDecoder } from "./_frame/decoder.ts";
import { FrameEncoder } from "./_frame/encoder.ts";
import { type Frame, MAX_UINT32 } from "./_frame/wire.ts";
import { OrderedLock } from "./_async/ordered_lock.ts";
import { waiter } from "./_async/waiter.ts";
import { checkBytes, describe, refusal } from "./_validate.ts";
import { connWhere } from "./_where.ts";
import { lazyError } from "./_lazy.ts";

/**
 * The default largest message: 3 MiB, as in the golang-ipc seed.
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_MESSAGE_SIZE, frames, pipe } from "@tether/tether";
 *
 * const [a] = pipe();
 * using framed = frames(a, { maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE / 3 });
 * ```
 */
export const DEFAULT_MAX_MESSAGE_SIZE: number = 3 * 1024 * 1024;

/**
 * The largest `maxMessageSize` allowed: 1 GiB. A bigger value is a
 * `RangeError`: one peer's header could then make the other set aside more
 * memory than most hosts can give.
 *
 * @example
 * ```ts
 * import { frames, MAX_MESSAGE_SIZE_LIMIT, pipe } from "@tether/tether";
 *
 * const [a] = pipe();
 * try {
 *   frames(a, { maxMessageSize: MAX_MESSAGE_SIZE_LIMIT + 1 });
 * } catch (err) {
 *   console.log(err instanceof RangeError); // true
 * }
 * a.close();
 * ```
 */
export const MAX_MESSAGE_SIZE_LIMIT: number = 1024 * 1024 * 1024;

/**
 * Options of {@linkcode frames} and {@linkcode typedFrames}.
 *
 * @example
 * ```ts
 * import { type FrameOptions, frames, pipe } from "@tether/tether";
 *
 * const options: FrameOptions = { maxMessageSize: 1024 * 1024 };
 * const [a] = pipe();
 * using framed = frames(a, options);
 * ```
 */
export interface FrameOptions {
  /**
   * Whether each message carries an integer type (`{ type, data }`); default
   * `false`. {@linkcode typedFrames} sets it. Both ends must agree.
   */
  typed?: boolean;
  /**
   * The largest message, in data bytes, either side may send or accept;
   * default 3 MiB, at most 1 GiB ({@linkcode MAX_MESSAGE_SIZE_LIMIT}). A
   * receiver sets aside that much memory for a message as soon as its header
   * arrives, so keep it no bigger than the messages need. Both ends should
   * use the same value.
   */
  maxMessageSize?: number;
  /**
   * Typed frames only: let type 0 through in both directions, for a protocol
   * on top that keeps it for its own control messages (as `ipc/` does);
   * default `false`, where sending type 0 is a `RangeError` and receiving it
   * a `ProtocolError`.
   */
  allowTypeZero?: boolean;
}

/**
 * A message of {@linkcode typedFrames}: its type and its bytes.
 *
 * @example
 * ```ts
 * import { pipe, typedFrames, type TypedMessage } from "@tether/tether";
 *
 * const [a, b] = pipe();
 * const message: TypedMessage = { type: 7, data: new TextEncoder().encode("hi") };
 * await typedFrames(a).send(message);
 * console.log((await typedFrames(b).receive())?.type); // 7
 * ```
 */
export interface TypedMessage {
  /** The message type: a whole number from 1 to 2^32 - 1 (0 is reserved). */
  type: number;
  /** The message bytes. */
  data: Uint8Array;
}

/**
 * The messages a {@linkcode FramedConn} can carry.
 *
 * @example
 * ```ts
 * import { frames, type Message, pipe } from "@tether/tether";
 *
 * const [a, b] = pipe();
 * const sent: Message = new Uint8Array([1]);
 * await frames(a).send(sent);
 * const got: Message | null = await frames(b).receive();
 * console.log(got); // Uint8Array(1) [ 1 ]
 * ```
 */
export type Message = Uint8Array | TypedMessage;

/**
 * A message view over a {@linkcode Conn}. Make one with {@linkcode frames}
 * (`Uint8Array` messages) or {@linkcode typedFrames} ({@linkcode TypedMessage}s).
 *
 * @example Messages as streams
 * ```ts
 * import { frames, pipe } from "@tether/tether";
 *
 * const [a, b] = pipe();
 * const sender = frames(a), receiver = frames(b);
 * const writer = sender.writable.getWriter();
 * await writer.write(new Uint8Array([1, 2, 3]));
 * await writer.close(); // half-closes: the receiver's stream ends
 * for await (const message of receiver.readable) console.log(message.length); // 3
 * receiver.close();
 * ```
 *
 * @example Receiving with `for await`
 * ```ts
 * import { frames, pipe } from "@tether/tether";
 *
 * const [a, b] = pipe();
 * const sender = frames(a), receiver = frames(b);
 * await sender.send(new TextEncoder().encode("one"));
 * await sender.closeWrite(); // ends the receiver's loop
 * for await (const message of receiver) console.log(new TextDecoder().decode(message)); // "one"
 * receiver.close();
 * ```
 */
export class FramedConn<M extends Message = Uint8Array>
  implements AsyncIterable<M>, AsyncDisposable, Disposable {
  /** The conn the frames travel on. */
  readonly conn: Conn;
  /** The largest message, in data bytes, this side sends or accepts. */
  readonly maxMessageSize: number;
  readonly #typed: boolean;
  readonly #minType: number;
  readonly #encoder: FrameEncoder;
  readonly #decoder: FrameDecoder;
  readonly #addr: string;
  readonly #sendLock = new OrderedLock();
  readonly #receiveLock = new OrderedLock();
  /**
   * The sending side: `open`; `halfClosed` once `closeWrite()` was called
   * (later sends fail with `error`, earlier ones go on); `broken` once no
   * frame may be written at all (closed, or a send failed mid-frame).
   */
  #send:
    | { readonly kind: "open" }
    | { readonly kind: "halfClosed"; readonly error: Error; readonly done: Promise<void> }
    | { readonly kind: "broken"; readonly error: Error } = { kind: "open" };
  /** The receiving side: `open`, or `ended` with the error every later receive gets. */
  #receiving: { readonly kind: "open" } | { readonly kind: "ended"; readonly error: unknown } = {
    kind: "open",
  };
  #readable: ReadableStream<M> | null = null;
  #writable: WritableStream<M> | null = null;

  /**
   * Wraps `conn`; prefer {@linkcode frames} or {@linkcode typedFrames},
   * which also pick the message type. `options.typed` must match `M`.
   */
  constructor(conn: Conn, options: FrameOptions = {}) {
    checkConn(conn);
    this.conn = conn;
    if (options === null || typeof options !== "object") {
      throw new TypeError(`frame options must be an object, got ${describe(options)}`);
    }
    this.maxMessageSize = checkMaxMessageSize(options.maxMessageSize);
    const typed = options.typed === true;
    this.#typed = typed;
    this.#minType = typed && options.allowTypeZero === true ? 0 : 1;
    this.#addr = connWhere(conn);
    this.#encoder = new FrameEncoder(conn, typed);
    this.#decoder = new FrameDecoder(conn, typed, this.maxMessageSize, this.#addr, this.#minType);
  }

  /** Settles once both directions of the conn are done. */
  get closed(): Promise<void> {
    return this.conn.closed;
  }

  /**
   * Sends one message; resolves once the conn has taken all of it (the
   * caller may then reuse the buffer). Waits while the peer does not read.
   * A message over `maxMessageSize` rejects with `MessageTooLargeError` and
   * nothing is written. An aborted send rejects with `signal.reason` at once
   * and the caller may reuse its buffer; its message is then delivered whole
   * or not at all (see the module docs).
   */
  send(message: M, options?: CallOptions): Promise<void> {
    let frame: Frame;
    try {
      frame = this.#typed ? toTypedFrame(message, this.#minType) : toFrame(message);
    } catch (err) {
      return Promise.reject(err);
    }
    if (frame.data.byteLength > this.maxMessageSize) {
      return Promise.reject(
        new MessageTooLargeError({
          op: "send",
          addr: this.#addr,
          size: frame.data.byteLength,
          limit: this.maxMessageSize,
        }),
      );
    }
    const refused = refusal(options);
    if (refused !== undefined) return Promise.reject(refused);
    if (this.#send.kind !== "open") return Promise.reject(this.#send.error);
    const signal = options?.signal;
    // A writer running ahead of the conn: its small frames go out together
    // once the write in flight is done. Only sends that cannot be aborted
    // join a batch, so an aborted send is still whole or nothing.
    if (signal === undefined && this.#sendLock.held && this.#sendLock.waiting === 0) {
      const batched = this.#encoder.append(frame);
      if (batched !== null) return batched;
    }
    const holding = this.#sendLock.tryAcquire();
    // The common case, a send with the conn to itself, goes without an async frame.
    if (holding && signal === undefined) return this.#writeFrame(frame);
    return this.#sendFrame(frame, signal, holding);
  }

  async #sendFrame(frame: Frame, signal: AbortSignal | undefined, holding: boolean): Promise<void> {
    if (!holding) await this.#sendLock.acquire(signal);
    // The conn may have broken, or the signal fired, between the turn coming and now.
    if (signal?.aborted && this.#send.kind !== "broken") {
      // Plain sends may have joined a batch once the lock came to us: write
      // it before the lock goes on, or nobody would.
      this.#written();
      throw signal.reason;
    }
    const written = this.#writeFrame(frame, signal);
    return signal === undefined ? written : untilAborted(written, signal);
  }

  /**
   * Writes a frame, holding the send lock, and goes on to what was batched
   * meanwhile. The frame is written whole even if the signal aborts: the
   * lock is held until it is, so later frames follow it on the wire.
   */
  #writeFrame(frame: Frame, signal?: AbortSignal): Promise<void> {
    const send = this.#send;
    if (send.kind === "broken") {
      this.#encoder.takeBatch()?.done.reject(send.error);
      this.#sendLock.release();
      return Promise.reject(send.error);
    }
    let writing: Promise<unknown>;
    try {
      writing = this.#encoder.write(frame, signal);
    } catch (err) {
      writing = Promise.reject(err); // a conn that throws rather than rejects
    }
    return writing.then(this.#afterWrite, this.#afterFailure);
  }

  readonly #afterWrite = () => this.#written();
  readonly #afterFailure = (err: unknown): never => {
    this.#writeFailed(err);
    throw err;
  };

  /** A write is done: the frames batched meanwhile go next, still holding the lock; then the lock goes on. */
  #written(): void {
    const batch = this.#encoder.takeBatch();
    if (batch === null) return this.#sendLock.release();
    this.conn.write(batch.bytes).then(() => {
      this.#encoder.recycle(batch.bytes);
      batch.done.resolve();
      this.#written();
    }, (err) => {
      batch.done.reject(err);
      this.#writeFailed(err);
    });
  }

  /** A write failed, maybe part way: no frame may follow, batched ones included. */
  #writeFailed(err: unknown): void {
    this.#sendFailed(err);
    this.#encoder.takeBatch()?.done.reject(err);
    this.#sendLock.release();
  }

  /**
   * The conn failed under a frame, which may be cut: no frame may follow it.
   * The conn is broken that way already; its inbound messages stay readable.
   */
  #sendFailed(err: unknown): void {
    if (this.#send.kind === "broken") return;
    this.#send = {
      kind: "broken",
      error: new ConnClosedError({
        op: "send",
        addr: this.#addr,
        detail: "an earlier send failed part way through a frame",
        cause: err,
      }),
    };
  }

  /**
   * Receives the next message, or `null` once the peer has half-closed
   * (or closed) between messages. An aborted receive consumed nothing.
   * Rejects with `MessageTooLargeError` or `ProtocolError` for bad input,
   * and the conn is closed; later receives reject with the same error.
   */
  receive(options?: CallOptions): Promise<M | null> {
    const refused = refusal(options);
    if (refused !== undefined) return Promise.reject(refused);
    const signal = options?.signal;
    if (this.#receiving.kind === "ended") return Promise.reject(this.#receiving.error);
    if (!this.#receiveLock.tryAcquire()) return this.#receive(signal, false);
    // Fast path: a frame already in the read buffer needs no waiting.
    let frame: Frame | null;
    try {
      frame = this.#decoder.takeBuffered();
    } catch (err) {
      this.#receiveLock.release();
      return Promise.reject(this.#receiveFailed(err));
    }
    if (frame === null) return this.#receive(signal, true);
    this.#receiveLock.release();
    return Promise.resolve(this.#message(frame));
  }

  async #receive(signal: AbortSignal | undefined, holding: boolean): Promise<M | null> {
    if (!holding) await this.#receiveLock.acquire(signal);
    try {
      if (this.#receiving.kind === "ended") throw this.#receiving.error;
      const frame = await this.#decoder.next(signal);
      return frame === null ? null : this.#message(frame);
    } catch (err) {
      throw this.#receiveFailed(err);
    } finally {
      this.#receiveLock.release();
    }
  }

  #message(frame: Frame): M {
    return (this.#typed ? frame : frame.data) as M;
  }

  /** Bad input ends receiving for good and closes the conn; returns `err`. */
  #receiveFailed(err: unknown): unknown {
    if (err instanceof ProtocolError || err instanceof MessageTooLargeError) {
      if (this.#receiving.kind === "open") this.#receiving = { kind: "ended", error: err };
      this.close();
    }
    return err;
  }

  /**
   * Half-closes once the sends made before it are done (frames being
   * finished for aborted sends included): the peer receives
   * `null` after their messages. Sends made after it reject with
   * `ConnClosedError`; receiving goes on.
   */
  closeWrite(): Promise<void> {
    const send = this.#send;
    if (send.kind === "halfClosed") return send.done;
    const done = this.#closeWriteInTurn();
    if (send.kind === "open") {
      const error = new ConnClosedError({ op: "send", addr: this.#addr, detail: "after closeWrite" });
      this.#send = { kind: "halfClosed", error, done };
    }
    return done;
  }

  async #closeWriteInTurn(): Promise<void> {
    await this.#sendLock.acquire();
    try {
      await this.conn.closeWrite();
    } finally {
      this.#sendLock.release();
    }
  }

  /**
   * Closes the conn; idempotent. Pending sends and receives reject, and a
   * frame still being finished for an aborted send is cut.
   */
  close(): void {
    const addr = this.#addr;
    if (this.#send.kind !== "broken") {
      this.#send = lazily(
        "broken",
        () => new ConnClosedError({ op: "send", addr, detail: "the framed conn was closed" }),
      );
    }
    // Messages already in the read buffer are dropped, as a closed conn's are.
    if (this.#receiving.kind === "open") {
      this.#receiving = lazily(
        "ended",
        () => new ConnClosedError({ op: "receive", addr, detail: "the framed conn was closed" }),
      );
    }
    this.conn.close();
  }

  /**
   * Receives messages until the peer half-closes, as {@linkcode receive}
   * does; bad input ends it by throwing. Leaving the loop early leaves the
   * framed conn open.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<M> {
    for (let message; (message = await this.receive()) !== null;) yield message;
  }

  /** Closes the conn; `await using` calls it. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  /** Closes the conn; `using` calls it. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * The incoming messages as a stream, one chunk per message; it ends when
   * the peer half-closes and errors on bad input. It reads no message ahead
   * of its consumer. Cancelling it closes the conn.
   */
  get readable(): ReadableStream<M> {
    return this.#readable ??= new ReadableStream<M>({
      pull: async (controller) => {
        const message = await this.receive();
        if (message === null) controller.close();
        else controller.enqueue(message);
      },
      cancel: () => this.close(),
    }, { highWaterMark: 0 });
  }

  /**
   * Messages to send, one chunk per message; closing it half-closes,
   * aborting it closes the conn.
   */
  get writable(): WritableStream<M> {
    return this.#writable ??= new WritableStream<M>({
      write: (message) => this.send(message),
      close: () => this.closeWrite(),
      abort: () => this.close(),
    });
  }
}

/**
 * A message view over `conn`: length-prefixed `Uint8Array` messages (see
 * the wire format in the module docs).
 *
 * @example Limiting message size
 * ```ts
 * import { frames, MessageTooLargeError, pipe } from "@tether/tether";
 *
 * const [a] = pipe();
 * await using framed = frames(a, { maxMessageSize: 1024 });
 * await framed.send(new Uint8Array(2048)).catch((err) => {
 *   console.log(err instanceof MessageTooLargeError); // true: nothing was written
 * });
 * ```
 */
export function frames(conn: Conn, options?: Omit<FrameOptions, "typed">): FramedConn<Uint8Array> {
  return new FramedConn<Uint8Array>(conn, { ...checkFrameOptions(options), typed: false });
}

/**
 * A message view over `conn` whose messages carry an integer type next to
 * their bytes, as in the golang-ipc seed (see the wire format in the module
 * docs). Sending a type that is not a whole number from 1 to 2^32 - 1 is a
 * `RangeError`; receiving type 0 is a `ProtocolError`.
 *
 * @example
 * ```ts
 * import { pipe, typedFrames } from "@tether/tether";
 *
 * const [a, b] = pipe();
 * await using client = typedFrames(a);
 * await using server = typedFrames(b);
 * await client.send({ type: 7, data: new TextEncoder().encode("status?") });
 * const { type, data } = (await server.receive())!;
 * console.log(type, new TextDecoder().decode(data)); // 7 "status?"
 * ```
 */
export function typedFrames(conn: Conn, options?: Omit<FrameOptions, "typed">): FramedConn<TypedMessage> {
  return new FramedConn<TypedMessage>(conn, { ...checkFrameOptions(options), typed: true });
}

function checkFrameOptions(options: unknown): FrameOptions {
  if (options === undefined) return {};
  if (options === null || typeof options !== "object") {
    throw new TypeError(`frame options must be an object, got ${describe(options)}`);
  }
  return options as FrameOptions;
}

function toFrame(message: unknown): Frame {
  checkBytes(message, "message");
  return { type: 0, data: message };
}

function toTypedFrame(message: unknown, minType: number): Frame {
  if (typeof message !== "object" || message === null) {
    throw new TypeError(`message must be an object { type, data }, got ${describe(message)}`);
  }
  const { type, data } = message as Partial<TypedMessage>;
  if (typeof type !== "number") {
    throw new TypeError(`message type must be a number, got ${describe(type)}`);
  }
  if (!Number.isInteger(type) || type < minType || type > MAX_UINT32) {
    throw new RangeError(
      `message type must be a whole number from 1 to ${MAX_UINT32} (0 is reserved), got ${type}`,
    );
  }
  checkBytes(data, "message data");
  return { type, data };
}

/**
 * A state whose error is made when first asked for: a framed conn closed
 * and never used again never pays for the error's stack trace.
 */
function lazily<K extends string>(kind: K, make: () => Error): { readonly kind: K; readonly error: Error } {
  const error = lazyError(make);
  return {
    kind,
    get error() {
      return error();
    },
  };
}

/**
 * `sending`, or a rejection with `signal.reason` as soon as it aborts; a
 * failure of `sending` after that is the framed conn's to record.
 */
function untilAborted(sending: Promise<void>, signal: AbortSignal): Promise<void> {
  const w = waiter<void>(signal);
  sending.then(w.resolve, w.reject);
  return w.promise;
}

function checkConn(conn: unknown): asserts conn is Conn {
  const c = conn as Partial<Conn> | null;
  if (
    typeof c !== "object" || c === null || typeof c.read !== "function" || typeof c.write !== "function" ||
    typeof c.close !== "function" || typeof c.closeWrite !== "function"
  ) {
    throw new TypeError(`conn must be a Conn (read, write, closeWrite, close), got ${describe(conn)}`);
  }
}

function checkMaxMessageSize(value: unknown): number {
  if (value === undefined) return DEFAULT_MAX_MESSAGE_SIZE;
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new TypeError(`maxMessageSize must be a whole number of bytes, got ${describe(value)}`);
  }
  if (value < 0 || value > MAX_MESSAGE_SIZE_LIMIT) {
    throw new RangeError(
      `maxMessageSize must be from 0 to ${MAX_MESSAGE_SIZE_LIMIT} bytes (1 GiB), got ${value}`,
    );
  }
  return value;
}
