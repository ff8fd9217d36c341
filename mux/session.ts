/**
 * `mux(conn, options)`: many {@linkcode MuxStream}s over one
 * {@linkcode Conn}, speaking yamux. The session judges each frame its
 * receiver (`_receiver.ts`) reads, and never waits on a stream to take one
 * (a stream's peer may only send within the window granted, so its bytes
 * always fit its queue); it writes through one writer (`_writer.ts`).
 * `PROTOCOL.md` beside this file is the wire format and state machine in
 * full.
 *
 * @module
 */

import type { Addr, CallOptions, Conn } from "../conn.ts";
import type { Dialer } from "../listener.ts";
import {
  abortError,
  ConnClosedError,
  ConnectionRefusedError,
  ConnError,
  ListenerClosedError,
  ProtocolError,
} from "../errors.ts";
import { acceptLoop, AcceptQueue } from "../accept_queue.ts";
import { delay } from "../_async/delay.ts";
import { onAbort, waiter } from "../_async/waiter.ts";
import { refusal } from "../_validate.ts";
import {
  Flag,
  GoAwayCode,
  type Header,
  INITIAL_WINDOW,
  KNOWN_FLAGS,
  MAX_UINT32,
  Type,
  VERSION,
} from "./const.ts";
import { type Payload, Receiver } from "./_receiver.ts";
import { FrameWriter } from "./_writer.ts";
import { type MuxStream, Stream, type StreamHost } from "./stream.ts";
import { checkOptions, type MuxOptions } from "./_options.ts";
import { connWhere } from "../_where.ts";

/** How long closing waits for the GoAway and the bytes before it to go out, before it closes the conn anyway. */
const CLOSE_FLUSH_MS = 1000;

/**
 * The session's state:
 * - `open`: streams are opened and accepted;
 * - `goingAway`: `goAway()` was called: no new streams either way; once the
 *   last stream is done, the session closes;
 * - `closed`: over; `error` says why, if it broke (null after a clean end).
 */
type State =
  | { readonly kind: "open" }
  | { readonly kind: "goingAway" }
  | { readonly kind: "closed"; readonly error: Error | null };

/** How a session ends: the error it ended with, the GoAway to send, and whether this side closed it. */
interface Ending {
  error: Error | null;
  goAway?: number;
  local: boolean;
  /** What streams still open are told. */
  detail: string;
}

interface PendingPing {
  start: number;
  answered(rtt: number): void;
  failed(err: Error): void;
}

/**
 * A yamux session over one conn: opens streams, accepts the peer's, pings.
 * Make one with {@linkcode mux}.
 *
 * Streams are full `Conn`s. `for await` over the session accepts the
 * streams the peer opens, ending quietly when the session ends cleanly (as
 * when the conn underneath closes or is reset: streams still open get a
 * `ConnClosedError` either way) and throwing when it broke (a protocol
 * error, a keepalive timeout, another error of the conn); `error` tells
 * which.
 *
 * Unlike a listener's, the session's `close()` ends every stream with it:
 * it is the conn underneath they all share.
 *
 * @example An echo server and a client, over one pipe
 * ```ts
 * import { pipe } from "@tether/tether";
 * import { mux } from "@tether/tether/mux";
 *
 * const [a, b] = pipe();
 * const server = mux(b, { role: "server" });
 * (async () => {
 *   for await (const stream of server) stream.readable.pipeTo(stream.writable).catch(() => stream.close());
 * })();
 * await using client = mux(a, { role: "client" });
 * const streams = await Promise.all([client.open(), client.open(), client.open()]);
 * for (const [i, stream] of streams.entries()) await stream.write(new Uint8Array([i]));
 * for (const stream of streams) {
 *   const buf = new Uint8Array(1);
 *   await stream.read(buf);
 *   console.log(stream.id, buf[0]); // 1 0, then 3 1, then 5 2
 * }
 * server.close();
 * ```
 */
export class Session implements AsyncDisposable, Disposable {
  /** Where the session accepts streams: the conn underneath's local address. */
  readonly addr: Addr;
  /** The conn underneath's local address; every stream has it too. */
  readonly localAddr: Addr;
  /** The conn underneath's remote address; every stream has it too. */
  readonly remoteAddr: Addr;
  /** Which end this is. */
  readonly role: "client" | "server";
  /** Settles once the session is over and the conn underneath closed; never rejects. */
  readonly closed: Promise<void>;
  readonly #conn: Conn;
  readonly #where: string;
  readonly #writer: FrameWriter;
  readonly #receiver: Receiver;
  readonly #streams = new Map<number, Stream>();
  readonly #accepts: AcceptQueue<Stream>;
  readonly #host: StreamHost;
  readonly #window: number;
  readonly #maxWindow: number;
  readonly #maxStreams: number;
  readonly #keepAlive: number | undefined;
  #state: State = { kind: "open" };
  /** Whether the peer sent GoAway(normal): it accepts no more streams from us. */
  #peer: "open" | "goingAway" = "open";
  #nextId: number;
  #lastRemoteId = 0;
  #opened = 0;
  #accepted = 0;
  #budget: number;
  readonly #pings = new Map<number, PendingPing>();
  #nextPing = 0;
  #rtt: number | null = null;
  #measuring = false;
  #keepAliveTimer: ReturnType<typeof setTimeout> | undefined;
  #keepAlivePending = false;
  readonly #detachSignal: () => void;
  // Not Promise.withResolvers: Node 20 lacks it, and the mux runs there.
  readonly #wireDone = waiter<void>();
  /** What streams' writes reject with once the session is over. */
  #writeError: Error | null = null;

  /** Starts a session over `conn`; see {@linkcode mux}. */
  constructor(conn: Conn, options: MuxOptions) {
    const checked = checkOptions(conn, options);
    // deno-lint-ignore no-this-alias
    const session = this;
    this.#conn = conn;
    this.addr = this.localAddr = conn.localAddr;
    this.remoteAddr = conn.remoteAddr;
    this.role = options.role;
    this.#where = connWhere(conn);
    this.#window = checked.window;
    this.#maxWindow = checked.maxWindow;
    this.#budget = checked.windowBudget;
    this.#maxStreams = checked.maxStreams;
    this.#keepAlive = checked.keepAlive;
    this.#nextId = options.role === "client" ? 1 : 2;
    this.#accepts = new AcceptQueue({ addr: this.#where, backlog: checked.acceptBacklog });
    this.#writer = new FrameWriter(conn, (err) => this.#sendFailed(err));
    this.#host = this.#makeHost();
    this.#receiver = new Receiver(conn, this.#where, {
      frame: (header, payload) => this.#frame(header, payload),
      get over() {
        return session.#over;
      },
      writer: this.#writer,
      ended: (error) => this.#receiveEnded(error),
    });
    this.closed = Promise.all([this.#receiver.done, this.#wireDone.promise]).then(() => conn.closed);
    this.#detachSignal = onAbort(options.signal, () => this.close());
    if (this.#keepAlive !== undefined) this.#scheduleKeepAlive();
  }

  /** Why the session ended, if it broke: a `ProtocolError`, a keepalive timeout, an error of the conn; else null. */
  get error(): Error | null {
    return this.#state.kind === "closed" ? this.#state.error : null;
  }

  /** How many streams are open (in either direction, including those waiting to be accepted). */
  get streams(): number {
    return this.#streams.size;
  }

  /** The last measured round-trip time in milliseconds, or null before the first ping. */
  get rtt(): number | null {
    return this.#rtt;
  }

  /**
   * Opens a stream. There is no round trip: the SYN goes out and the
   * stream can be written at once. Rejects if the session is over or going
   * away, if the peer sent GoAway (`ConnectionRefusedError`), or with a
   * temporary `ConnError` (`ESTREAMLIMIT`) when `maxStreams` streams this
   * side opened are still open. A peer that refuses the stream (its own
   * limits) resets it: its reads and writes then reject with
   * `ConnectionRefusedError`.
   */
  open(options?: CallOptions): Promise<MuxStream> {
    const refused = refusal(options, { op: "open", addr: this.#where });
    if (refused !== undefined) return Promise.reject(refused);
    const state = this.#state;
    if (state.kind !== "open") {
      return Promise.reject(
        new ConnClosedError({
          op: "open",
          addr: this.#where,
          detail: state.kind === "closed" ? "the session is over" : "the session is going away",
        }),
      );
    }
    if (this.#peer === "goingAway") {
      return Promise.reject(
        new ConnectionRefusedError({
          op: "open",
          addr: this.#where,
          detail: "the peer sent GoAway: it accepts no new streams",
        }),
      );
    }
    if (this.#opened >= this.#maxStreams) {
      return Promise.reject(
        new ConnError({
          code: "ESTREAMLIMIT",
          op: "open",
          addr: this.#where,
          summary: "too many open streams",
          detail:
            `${this.#maxStreams} streams this side opened are still open (maxStreams); close some first`,
          temporary: true,
        }),
      );
    }
    const id = this.#nextId;
    if (id > MAX_UINT32) {
      return Promise.reject(
        new ConnError({
          code: "ESTREAMIDS",
          op: "open",
          addr: this.#where,
          summary: "stream ids exhausted",
          detail: "this session opened 2^31 streams; open a new session",
        }),
      );
    }
    this.#nextId += 2;
    const stream = new Stream(this.#host, id, this, "here");
    this.#streams.set(id, stream);
    this.#opened++;
    this.#writer.control(Type.WindowUpdate, Flag.SYN, id, this.#window - INITIAL_WINDOW);
    return Promise.resolve(stream);
  }

  /**
   * Takes the next stream the peer opened, waiting within the signal.
   * Rejects with `ListenerClosedError` once the session ended cleanly, with
   * the session's `error` once it broke, and with a `ConnError` naming the
   * accept when the signal aborts.
   */
  accept(options?: CallOptions): Promise<MuxStream> {
    return this.#accepts.accept(options).catch((err) => {
      const state = this.#state;
      if (err instanceof ListenerClosedError && state.kind === "closed" && state.error !== null) {
        throw state.error;
      }
      throw err;
    });
  }

  /** Accepts streams until the session ends: quietly if it ended cleanly, with its error if it broke. */
  [Symbol.asyncIterator](): AsyncIterator<MuxStream> {
    return acceptLoop(this);
  }

  /** A dialer whose `dial()` opens a stream, for code written against {@linkcode Dialer}. */
  dialer(): Dialer {
    return { dial: (options) => this.open(options) };
  }

  /**
   * Pings the peer; resolves with the round-trip time in milliseconds.
   * Rejects with a `ConnClosedError` if the session ends first, and with a
   * `ConnError` naming the ping if the signal aborts.
   */
  ping(options?: CallOptions): Promise<number> {
    const refused = refusal(options, { op: "ping", addr: this.#where });
    if (refused !== undefined) return Promise.reject(refused);
    if (this.#over) {
      return Promise.reject(
        new ConnClosedError({ op: "ping", addr: this.#where, detail: "the session is over" }),
      );
    }
    const signal = options?.signal;
    let id = -1;
    const w = waiter<number>(signal, (reason) => {
      this.#pings.delete(id);
      return abortError(reason, { op: "ping", addr: this.#where });
    });
    id = this.#sendPing(w.resolve, w.reject);
    return w.promise;
  }

  /**
   * Ends the session gracefully: tells the peer (GoAway) that no new
   * streams are accepted, refuses any it opens from now on, and lets the
   * open ones finish; `open()` rejects from now on too. Resolves once the
   * last stream is done and the session closed. Should the signal abort
   * first, it rejects with a `ConnError` naming the operation, and the
   * session goes on going away (`close()` ends it at once).
   */
  goAway(options?: CallOptions): Promise<void> {
    const refused = refusal(options, { op: "goAway", addr: this.#where });
    if (refused !== undefined) return Promise.reject(refused);
    if (this.#state.kind === "open") {
      this.#state = { kind: "goingAway" };
      this.#writer.control(Type.GoAway, 0, 0, GoAwayCode.Normal);
      this.#closeIfIdle();
    }
    const signal = options?.signal;
    if (signal === undefined) return this.closed;
    const w = waiter<void>(signal, (reason) => abortError(reason, { op: "goAway", addr: this.#where }));
    this.closed.then(w.resolve);
    return w.promise;
  }

  /**
   * Closes the session at once: every stream's pending and later reads and
   * writes reject with `ConnClosedError`, the peer is sent GoAway, and the
   * conn underneath is closed. Idempotent.
   */
  close(): void {
    this.#end({ error: null, goAway: GoAwayCode.Normal, local: true, detail: "the session was closed" });
  }

  /** Closes the session; `await using` calls it. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  /** Closes the session; `using` calls it. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Whether the session is over (a getter, so that checks after an await are not narrowed away). */
  get #over(): boolean {
    return this.#state.kind === "closed";
  }

  // ---- receiving ----

  /** Reading ended: at EOF (`null`), or with `error`, a `ProtocolError` or the conn's. */
  #receiveEnded(error: unknown): void {
    if (this.#over) return;
    if (error === null) {
      return this.#end({ error: null, local: false, detail: "the peer closed the session" });
    }
    if (error instanceof ProtocolError) {
      return this.#end({
        error,
        goAway: GoAwayCode.ProtocolError,
        local: false,
        detail: "the peer broke the protocol",
      });
    }
    this.#connFailed(error, "receive");
  }

  /** Handles one frame's header; if a payload follows, says where it goes in `payload` and returns `true`. */
  #frame(header: Header, payload: Payload): boolean {
    if (header.version !== VERSION) {
      throw this.#protocolError(`unknown protocol version ${header.version}: yamux has version 0 only`);
    }
    if ((header.flags & ~KNOWN_FLAGS) !== 0) {
      throw this.#protocolError(
        `unknown flags 0x${header.flags.toString(16)}: yamux defines SYN, ACK, FIN, RST`,
      );
    }
    switch (header.type) {
      case Type.Data:
      case Type.WindowUpdate:
        return this.#streamFrame(header, payload);
      case Type.Ping:
        this.#pingFrame(header);
        return false;
      case Type.GoAway:
        this.#goAwayFrame(header);
        return false;
      default:
        throw this.#protocolError(`unknown frame type ${header.type}: yamux defines types 0 to 3`);
    }
  }

  #streamFrame(header: Header, payload: Payload): boolean {
    const { streamId: id, flags, length } = header;
    const data = header.type === Type.Data;
    if (id === 0) {
      throw this.#protocolError(`a ${data ? "Data" : "WindowUpdate"} frame for stream 0, the session`);
    }
    if (data && length > this.#maxWindow) {
      throw this.#protocolError(
        `a Data frame of ${length} bytes on stream ${id}, larger than any window this side grants (${this.#maxWindow})`,
      );
    }
    let stream = this.#streams.get(id);
    if (flags & Flag.SYN) {
      if (stream !== undefined) throw this.#protocolError(`SYN for stream ${id}, which is open`);
      stream = this.#incoming(id);
    } else if (stream === undefined && !this.#used(id)) {
      throw this.#protocolError(`a frame for stream ${id}, which was never opened`);
    }
    // A stream refused or already done here: what is still in flight is dropped.
    if (stream === undefined) return data && length > 0 && drop(payload, length);
    if (!data) {
      stream.grant(length);
      stream.flags(flags);
      return false;
    }
    if (length > 0) {
      let refusal: string | null = null;
      if (!stream.receiving) refusal = "Data after the peer's FIN";
      else if (length > stream.credit) {
        refusal = `a Data frame of ${length} bytes, past the window: ${stream.credit} bytes were granted`;
      }
      if (refusal !== null) {
        stream.fail(refusal);
        return drop(payload, length);
      }
      stream.expect(length);
      payload.sink = stream;
      payload.length = length;
      payload.flags = flags;
      return true;
    }
    stream.flags(flags);
    return false;
  }

  /** The peer opens stream `id`: a new stream, or `undefined` if refused (reset). */
  #incoming(id: number): Stream | undefined {
    const theirs = this.role === "client" ? 0 : 1;
    if (id % 2 !== theirs) {
      throw this.#protocolError(
        `the peer opened stream ${id}, but a ${this.role === "client" ? "server" : "client"} opens ${
          theirs === 0 ? "even" : "odd"
        } ids`,
      );
    }
    // Ids are handed out in order, but a peer that opens streams from
    // several threads (Go's yamux does) may send their SYNs out of order.
    if (id > this.#lastRemoteId) this.#lastRemoteId = id;
    if (
      this.#state.kind !== "open" || this.#accepted >= this.#maxStreams ||
      this.#accepts.waiting >= this.#accepts.backlog
    ) {
      this.#writer.control(Type.WindowUpdate, Flag.RST, id, 0);
      return undefined;
    }
    const stream = new Stream(this.#host, id, this, "there");
    this.#streams.set(id, stream);
    this.#accepted++;
    this.#writer.control(Type.WindowUpdate, Flag.ACK, id, this.#window - INITIAL_WINDOW);
    this.#accepts.enqueue(stream);
    return stream;
  }

  /** Whether stream `id` was ever opened, by either side. */
  #used(id: number): boolean {
    const ours = (id % 2 === 1) === (this.role === "client");
    return ours ? id < this.#nextId : id <= this.#lastRemoteId;
  }

  #pingFrame(header: Header): void {
    if (header.flags & Flag.SYN) {
      this.#writer.control(Type.Ping, Flag.ACK, 0, header.length);
    } else if (header.flags & Flag.ACK) {
      const ping = this.#pings.get(header.length);
      if (ping === undefined) return; // answered after its caller gave up
      this.#pings.delete(header.length);
      ping.answered(performance.now() - ping.start);
    } else {
      throw this.#protocolError("a Ping frame with neither SYN nor ACK");
    }
  }

  #goAwayFrame(header: Header): void {
    const code = header.length;
    if (code === GoAwayCode.Normal) {
      this.#peer = "goingAway";
      return;
    }
    const error = code === GoAwayCode.ProtocolError
      ? new ProtocolError({
        op: "receive",
        addr: this.#where,
        detail:
          "the peer ended the session with GoAway(protocol error): it says this side broke the protocol",
      })
      : code === GoAwayCode.InternalError
      ? new ConnClosedError({
        op: "receive",
        addr: this.#where,
        detail: "the peer ended the session with GoAway(internal error)",
      })
      : null;
    if (error === null) throw this.#protocolError(`GoAway with unknown code ${code}`);
    this.#end({ error, local: false, detail: "the peer ended the session" });
  }

  #protocolError(detail: string): ProtocolError {
    return new ProtocolError({ op: "receive", addr: this.#where, detail });
  }

  // ---- pings and keepalive ----

  /** Sends a ping; returns its id. */
  #sendPing(answered: (rtt: number) => void, failed: (err: Error) => void): number {
    const id = this.#nextPing;
    this.#nextPing = (id + 1) >>> 0;
    this.#pings.set(id, {
      start: performance.now(),
      answered: (rtt) => {
        this.#rtt = rtt;
        answered(rtt);
      },
      failed,
    });
    this.#writer.control(Type.Ping, Flag.SYN, 0, id);
    return id;
  }

  #scheduleKeepAlive(): void {
    this.#keepAliveTimer = setTimeout(() => {
      if (this.#over) return;
      if (this.#keepAlivePending) {
        const error = new ConnError({
          code: "ETIMEDOUT",
          op: "keepalive",
          addr: this.#where,
          summary: "timed out",
          detail: `the peer did not answer a ping within ${this.#keepAlive} ms`,
          timeout: true,
        });
        return this.#end({ error, local: false, detail: "the peer stopped answering pings" });
      }
      this.#keepAlivePending = true;
      this.#sendPing(() => this.#keepAlivePending = false, () => {});
      this.#scheduleKeepAlive();
    }, this.#keepAlive);
  }

  // ---- the host streams see ----

  #makeHost(): StreamHost {
    // deno-lint-ignore no-this-alias
    const session = this;
    return {
      writer: this.#writer,
      addr: this.#where,
      window: this.#window,
      maxWindow: this.#maxWindow,
      get rtt() {
        return session.#rtt;
      },
      measureRtt() {
        if (session.#measuring || session.#state.kind === "closed") return;
        session.#measuring = true;
        session.#sendPing(() => session.#measuring = false, () => {});
      },
      rttSample(ms) {
        session.#rtt = ms;
      },
      reserve(bytes) {
        const granted = Math.min(bytes, session.#budget);
        session.#budget -= granted;
        return granted;
      },
      ended(stream, grown) {
        if (session.#streams.get(stream.id) !== stream) return;
        session.#streams.delete(stream.id);
        session.#budget += grown;
        if ((stream.id % 2 === 1) === (session.role === "client")) session.#opened--;
        else session.#accepted--;
        session.#closeIfIdle();
      },
    };
  }

  // ---- ending ----

  #closeIfIdle(): void {
    if (this.#state.kind === "goingAway" && this.#streams.size === 0) {
      this.#end({ error: null, local: true, detail: "the session went away" });
    }
  }

  /** Writing to the conn failed: the session ends; returns what writes whose bytes were lost reject with. */
  #sendFailed(err: unknown): Error {
    if (!this.#over) this.#connFailed(err, "send");
    return this.#writeError!;
  }

  /**
   * The conn underneath failed under `op`. Closed (EOF's twin on the writing
   * side: the peer closed it, or its process is gone) is an end, as EOF is:
   * streams get a `ConnClosedError` and `for await` ends quietly, since the
   * peer's GoAway may still be unread behind bytes this side had yet to
   * read. Any other error is the session's `error`.
   */
  #connFailed(err: unknown, op: string): void {
    const why = err instanceof Error ? err.message : String(err);
    if (err instanceof ConnClosedError) {
      return this.#end({ error: null, local: false, detail: `the conn underneath closed: ${why}` });
    }
    const error = new ConnClosedError({
      op,
      addr: this.#where,
      detail: `the conn underneath failed: ${why}`,
      cause: err,
    });
    this.#end({ error, local: false, detail: "the conn underneath failed" });
  }

  #end(ending: Ending): void {
    if (this.#over) return;
    this.#state = { kind: "closed", error: ending.error };
    this.#receiver.stop();
    this.#detachSignal();
    clearTimeout(this.#keepAliveTimer);
    const { error, detail, local } = ending;
    const readError = error ?? new ConnClosedError({ op: "read", addr: this.#where, detail });
    const writeError = this.#writeError = new ConnClosedError({
      op: "write",
      addr: this.#where,
      detail,
      cause: error ?? undefined,
    });
    for (const stream of [...this.#streams.values()]) stream.abort(readError, writeError, local);
    this.#accepts.close((stream) => stream.close());
    const pingError = new ConnClosedError({
      op: "ping",
      addr: this.#where,
      detail,
      cause: error ?? undefined,
    });
    for (const ping of this.#pings.values()) ping.failed(pingError);
    this.#pings.clear();
    if (ending.goAway !== undefined) this.#writer.control(Type.GoAway, 0, 0, ending.goAway);
    this.#closeWire(ending.goAway !== undefined || ending.local);
  }

  /** Closes the conn underneath: first letting what is queued go out, for a while, when `flush`. */
  async #closeWire(flush: boolean): Promise<void> {
    if (flush) {
      const timer = new AbortController();
      await Promise.race([this.#writer.finish(), delay(CLOSE_FLUSH_MS, timer.signal).catch(() => {})]);
      timer.abort();
    }
    this.#writer.stop();
    this.#conn.close();
    await this.#writer.finish();
    this.#wireDone.resolve();
  }
}

/**
 * Starts a yamux session over `conn` (any tether `Conn`: a pipe, a Unix or
 * TCP socket, a `secure()` conn...). The two ends must differ in `role`.
 * The session owns the conn from now on and closes it when it ends.
 *
 * Bad options are a `TypeError` or `RangeError`, and an already-aborted
 * signal is the `ConnError` of an aborted call; either way `conn` is left
 * alone.
 *
 * @example A Unix socket carrying several streams
 * ```ts
 * import { connect, listen } from "@tether/tether";
 * import { mux } from "@tether/tether/mux";
 *
 * const path = `${await Deno.makeTempDir()}/mux.sock`;
 * await using listener = await listen({ transport: "unix", path });
 * (async () => {
 *   const session = mux(await listener.accept(), { role: "server" });
 *   for await (const stream of session) {
 *     stream.readable.pipeTo(stream.writable).catch(() => stream.close());
 *   }
 * })();
 * await using session = mux(await connect({ transport: "unix", path }), { role: "client" });
 * const [x, y] = await Promise.all([session.open(), session.open()]);
 * await y.write(new TextEncoder().encode("second"));
 * await x.write(new TextEncoder().encode("first"));
 * const buf = new Uint8Array(6);
 * console.log(await x.read(buf), await y.read(buf)); // 5 6
 * ```
 */
export function mux(conn: Conn, options: MuxOptions): Session {
  return new Session(conn, options);
}

/** A payload of `length` bytes to read and drop; returns `true`. */
function drop(payload: Payload, length: number): true {
  payload.sink = null;
  payload.length = length;
  payload.flags = 0;
  return true;
}
