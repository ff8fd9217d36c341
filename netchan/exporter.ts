/**
 * The exporting end of netchan: {@linkcode Exporter} publishes channels by
 * name and serves the importers that connect.
 *
 * @module
 */

import type { Schema } from "./schema.ts";
import type { CallOptions, Conn } from "../conn.ts";
import { ConnClosedError, ProtocolError } from "../errors.ts";
import { typedFrames } from "../frame.ts";
import type { Listener } from "../listener.ts";
import { acceptLoop } from "../accept_queue.ts";
import { noop, waiter } from "../_async/waiter.ts";
import { checkWhole, MAX_TIMEOUT, refusal } from "../_validate.ts";
import { mux, type MuxOptions, type Session } from "../mux/mod.ts";
import type { Codec } from "./codec.ts";
import { ChannelError } from "./errors.ts";
import { ErrorLog } from "./_error_log.ts";
import { Inbox } from "./_inbox.ts";
import { RecvLink, SendLink, type Validated } from "./_link.ts";
import { Outbox } from "./_outbox.ts";
import {
  checkCallOptions,
  checkDirection,
  checkEndpoint,
  checkName,
  checkWindow,
  type Direction,
  type Endpoint,
  validatorOf,
} from "./_options.ts";
import { closeWhenDone } from "./_session.ts";
import { parseImport, type Refusal, refuseBody, Type, VERSION } from "./_wire.ts";
import { connWhere } from "../_where.ts";

/**
 * Options of an {@linkcode Exporter}.
 *
 * @example
 * ```ts
 * import { Exporter, type ExporterOptions, jsonCodec } from "@tether/tether/netchan";
 *
 * const options: ExporterOptions = { codec: jsonCodec, maxBufferSize: 256, maxErrors: 16 };
 * await using exp = new Exporter(options);
 * ```
 */
export interface ExporterOptions {
  /**
   * How values become bytes; default {@linkcode msgpackCodec}. Importers
   * must use a codec of the same name, or their imports are refused.
   */
  codec?: Codec;
  /** The largest encoded value, in bytes, sent or accepted; default 3 MiB. */
  maxMessageSize?: number;
  /**
   * The most values one importer may have in flight towards it or from it,
   * whatever `bufferSize` it asks for; default 1024. It bounds the
   * exporter's memory per import.
   */
  maxBufferSize?: number;
  /**
   * How long, in ms, a stream an importer opened may stay silent before its
   * IMPORT arrives; default 10000. A stream still silent then is closed, so
   * a peer cannot hold streams open without importing anything.
   */
  importTimeout?: number;
  /** How many errors `errors` keeps unread before it drops the oldest; default 64. */
  maxErrors?: number;
  /** Options of the mux session on each conn served (`maxStreams` defaults to 4096 here). */
  mux?: Omit<MuxOptions, "role">;
}

/**
 * Options of {@linkcode Exporter.export}.
 *
 * @example
 * ```ts
 * import { Exporter, type ExportOptions } from "@tether/tether/netchan";
 *
 * await using exp = new Exporter();
 * const options: ExportOptions<string> = { bufferSize: 64 };
 * const jobs = exp.export<string>("jobs", "recv", options);
 * ```
 */
export interface ExportOptions<T = unknown> {
  /**
   * "recv": how many values the writable queues before it signals
   * backpressure (its high-water mark), beyond what importers' credit takes
   * at once; default 16. "send": the most values each importer may have in
   * flight towards the exporter (at most `maxBufferSize`); default 64.
   */
  bufferSize?: number;
  /**
   * "send" only: a Standard Schema v1 validator (zod, valibot, arktype...)
   * that every value importers send must pass; one that fails goes to
   * `errors` as a `ValidationError`, never to the stream.
   */
  schema?: Schema<T>;
}

/** An exported channel: values out to importers, or values in from them. */
type Channel =
  | { readonly kind: "recv"; readonly outbox: Outbox }
  | {
    readonly kind: "send";
    readonly inbox: Inbox;
    readonly links: Set<RecvLink>;
    readonly window: number;
    readonly validate?: (value: unknown) => Validated | Promise<Validated>;
  };

/** The exporter's state: serving, or closed for good. */
type State = { readonly kind: "open" } | { readonly kind: "closed"; readonly error: ConnClosedError };

/** The default window an exporter's "send" channel grants each importer. */
const DEFAULT_SEND_WINDOW = 64;
/** The default high-water mark of an exported "recv" channel's writable. */
const DEFAULT_RECV_QUEUE = 16;
/** The default {@linkcode ExporterOptions.maxBufferSize}. */
const DEFAULT_MAX_BUFFER_SIZE = 1024;
/** The default {@linkcode ExporterOptions.importTimeout}. */
const DEFAULT_IMPORT_TIMEOUT = 10_000;

/**
 * Publishes channels by name, for importers on other conns (other
 * processes, other hosts) to import. Directions are named from the
 * importer's side, as in Go's netchan: a "recv" channel is one importers
 * receive from (the exporter gets a `WritableStream`), a "send" channel one
 * they send to (the exporter gets a `ReadableStream`).
 *
 * Several importers of one "recv" channel share its values: each value
 * goes to exactly one of them, round robin among those with credit (see
 * docs/netchan.md for the order). Delivery is at most once: a value is
 * never sent twice, and a value that may not have arrived is reported on
 * `errors`, not resent.
 *
 * @example A channel served over a pipe
 * ```ts
 * import { pipe } from "@tether/tether";
 * import { Exporter, Importer } from "@tether/tether/netchan";
 *
 * const [a, b] = pipe();
 * await using exp = new Exporter();
 * const greetings = exp.export<string>("greetings", "recv").getWriter();
 * exp.serveConn(a);
 *
 * await using imp = new Importer(b);
 * const received = imp.import<string>("greetings", "recv", { count: 2 });
 * await greetings.write("hello");
 * await greetings.write("world");
 * for await (const text of received) console.log(text); // "hello", then "world"
 * ```
 */
export class Exporter implements AsyncDisposable {
  readonly #options: Endpoint;
  readonly #maxBufferSize: number;
  readonly #importTimeout: number;
  readonly #channels = new Map<string, Channel>();
  readonly #sessions = new Set<Session>();
  readonly #links = new Set<SendLink | RecvLink>();
  readonly #log: ErrorLog;
  #state: State = { kind: "open" };
  /** Resolved when `close()` is called; `closed` once the conns have ended too. */
  readonly #stopping = waiter<void>();
  readonly #closed = waiter<void>();

  /** An exporter with nothing exported yet. */
  constructor(options?: ExporterOptions) {
    this.#options = checkEndpoint(options, "new Exporter");
    this.#maxBufferSize = checkWindow(options?.maxBufferSize, DEFAULT_MAX_BUFFER_SIZE);
    this.#importTimeout = checkWhole(
      options?.importTimeout,
      "importTimeout",
      1,
      MAX_TIMEOUT,
      DEFAULT_IMPORT_TIMEOUT,
    );
    this.#log = new ErrorLog(this.#options.maxErrors);
  }

  /**
   * Transmission, protocol and validation errors, and undelivered values,
   * each a `ChannelError` naming its channel (`""` for a conn that failed
   * before it opened any: one that sent garbage, say). Reading it is optional: it
   * keeps the latest `maxErrors` (default 64) unread errors and drops older
   * ones (counted in `droppedErrors`); nothing else waits for it.
   */
  get errors(): ReadableStream<ChannelError> {
    return this.#log.readable;
  }

  /** Errors dropped from `errors` because `maxErrors` were waiting unread. */
  get droppedErrors(): number {
    return this.#log.dropped;
  }

  /** Settles once the exporter is closed and every conn it served has ended. */
  get closed(): Promise<void> {
    return this.#closed.promise;
  }

  /**
   * Exports a channel importers receive from: write values to the stream
   * returned; each goes to one importer. A write waits (backpressure) while
   * no importer has room. Closing the writable ends the channel once every
   * value written was sent (importers' streams end after them) and frees
   * the name; aborting it hangs the channel up.
   */
  export<T>(name: string, direction: "recv", options?: ExportOptions<T>): WritableStream<T>;
  /**
   * Exports a channel importers send to: the stream returned carries the
   * values of every importer, in the order they arrive. It ends when the
   * channel is hung up or the exporter closes; cancelling it hangs up.
   */
  export<T>(name: string, direction: "send", options?: ExportOptions<T>): ReadableStream<T>;
  export<T>(
    name: string,
    direction: Direction,
    options?: ExportOptions<T>,
  ): WritableStream<T> | ReadableStream<T> {
    checkName(name);
    checkDirection(direction);
    const { bufferSize, schema } = checkCallOptions(options, "export");
    if (this.#state.kind === "closed") throw this.#state.error;
    if (this.#channels.has(name)) {
      throw new ChannelError({
        channel: name,
        code: "EEXIST",
        op: "export",
        summary: "already exported",
        detail: "hang it up first, or pick another name",
      });
    }
    if (direction === "recv") {
      if (schema !== undefined) {
        throw new TypeError(`a schema checks what importers send: use it on a "send" export`);
      }
      const outbox = new Outbox<T>({
        channel: name,
        codec: this.#options.codec,
        maxMessageSize: this.#options.maxMessageSize,
        highWaterMark: checkWindow(bufferSize, DEFAULT_RECV_QUEUE),
        report: (err) => this.#log.report(err),
        onClosed: () => this.#forget(name, outbox),
        onAborted: () => this.#forget(name, outbox),
      });
      this.#channels.set(name, { kind: "recv", outbox: outbox as Outbox });
      return outbox.writable;
    }
    const inbox: Inbox<T> = new Inbox<T>(() => this.hangup(name));
    this.#channels.set(name, {
      kind: "send",
      inbox: inbox as Inbox,
      links: new Set(),
      window: Math.min(checkWindow(bufferSize, DEFAULT_SEND_WINDOW), this.#maxBufferSize),
      validate: validatorOf(schema),
    });
    return inbox.readable;
  }

  /**
   * Hangs up a channel: its importers' streams end (readers finish after
   * what they already received, writers reject with `ConnClosedError`),
   * the exporter's own stream ends the same way, and the name is free to
   * export again. Values written but not yet sent are reported on `errors`;
   * values importers sent but nobody read yet are dropped (their importers
   * report them). Returns whether `name` was exported.
   *
   * @example
   * ```ts
   * import { Exporter } from "@tether/tether/netchan";
   *
   * await using exp = new Exporter();
   * const writer = exp.export<number>("ticks", "recv").getWriter();
   * exp.hangup("ticks");
   * await writer.write(1).catch((err) => console.log(err.name)); // "ConnClosedError"
   * ```
   */
  hangup(name: string): boolean {
    const channel = this.#channels.get(name);
    if (channel === undefined) return false;
    this.#channels.delete(name);
    this.#end(name, channel, "hung up by the exporter");
    return true;
  }

  /**
   * Serves every conn `listener` accepts (see {@linkcode serveConn});
   * resolves once the listener closes or the exporter does. Rejects only
   * if accepting fails for good (a temporary error is retried).
   *
   * @example
   * ```ts
   * import { listen } from "@tether/tether";
   * import { Exporter, Importer } from "@tether/tether/netchan";
   *
   * await using listener = listen({ transport: "memory", name: "netchan-serve" });
   * await using exp = new Exporter();
   * const words = exp.export<string>("words", "recv").getWriter();
   * const serving = exp.serve(listener);
   * await using imp = await Importer.connect({ transport: "memory", name: "netchan-serve" });
   * const reader = imp.import<string>("words", "recv").getReader();
   * await words.write("hi");
   * console.log((await reader.read()).value); // "hi"
   * listener.close();
   * await serving;
   * ```
   */
  async serve(listener: Listener): Promise<void> {
    const connections = acceptLoop(listener)[Symbol.asyncIterator]();
    const stopped = this.#stopping.promise.then(() => ({ done: true, value: undefined }) as const);
    for (;;) {
      const next = await Promise.race([connections.next(), stopped]);
      if (next.done) break;
      this.serveConn(next.value);
    }
    // An accept still pending when the exporter closed: its conn is turned away.
    connections.return?.(undefined).catch(noop);
  }

  /**
   * Serves one conn: runs a mux session (as its server) over it and answers
   * every import made on it. Resolves once that conn's session ends; never
   * rejects (failures show on `errors`).
   *
   * @example
   * ```ts
   * import { pipe } from "@tether/tether";
   * import { Exporter, Importer } from "@tether/tether/netchan";
   *
   * const [a, b] = pipe();
   * const exp = new Exporter();
   * const served = exp.serveConn(a);
   * const imp = new Importer(b);
   * imp.close();
   * await served; // the importer's side went away
   * exp.close();
   * ```
   */
  async serveConn(conn: Conn): Promise<void> {
    if (this.#state.kind === "closed") {
      conn.close();
      return;
    }
    const session = mux(conn, { ...this.#options.mux, role: "server" });
    const addr = connWhere(conn);
    this.#sessions.add(session);
    let streams = 0;
    try {
      for await (const stream of session) {
        streams++;
        this.#answer(stream, addr);
      }
    } catch (err) {
      // The session failed: its streams, and so their links, failed with it
      // and said so. A conn that failed before any channel (garbage, a peer
      // speaking something else) has nobody else to tell; one that merely
      // went away is no error.
      if (streams === 0 && this.#state.kind === "open" && !wentAway(err)) {
        this.#log.report(ChannelError.from("", err));
      }
    } finally {
      session.close();
      this.#sessions.delete(session);
      await session.closed;
    }
  }

  /**
   * Resolves once every value written to this exporter's "recv" channels
   * before the call (including values still queued, not yet sent to anyone)
   * has been received by an importer, as its acknowledgement says, or has
   * been reported on `errors` as undelivered. It waits on acknowledgements,
   * never polls. Rejects with `signal.reason` if the signal aborts first.
   *
   * @example
   * ```ts
   * import { pipe } from "@tether/tether";
   * import { Exporter, Importer } from "@tether/tether/netchan";
   *
   * const [a, b] = pipe();
   * await using exp = new Exporter();
   * const writer = exp.export<number>("n", "recv").getWriter();
   * exp.serveConn(a);
   * await using imp = new Importer(b);
   * const reader = imp.import<number>("n", "recv").getReader();
   * writer.write(1);
   * const drained = exp.drain({ signal: AbortSignal.timeout(5000) });
   * console.log((await reader.read()).value); // 1
   * await drained; // the importer's reader took it
   * ```
   */
  drain(options?: CallOptions): Promise<void> {
    return this.#wait(options, (outbox, signal) => outbox.drain(signal));
  }

  /**
   * Resolves once every value already sent to an importer at the time of
   * the call has been received by it (or reported undelivered); unlike
   * {@linkcode drain}, it does not wait for values still queued.
   *
   * @example
   * ```ts
   * import { Exporter } from "@tether/tether/netchan";
   *
   * await using exp = new Exporter();
   * exp.export<number>("idle", "recv");
   * await exp.sync({ signal: AbortSignal.timeout(1000) }); // nothing was sent
   * ```
   */
  sync(options?: CallOptions): Promise<void> {
    return this.#wait(options, (outbox, signal) => outbox.sync(signal));
  }

  /**
   * Closes: every channel is hung up (as {@linkcode hangup}), every conn
   * served is closed, `errors` ends, and `serve` returns. Idempotent.
   */
  close(): void {
    if (this.#state.kind === "closed") return;
    this.#state = {
      kind: "closed",
      error: new ConnClosedError({ op: "export", detail: "the exporter was closed" }),
    };
    for (const [name, channel] of this.#channels) this.#end(name, channel, "the exporter closed");
    this.#channels.clear();
    this.#log.close();
    this.#stopping.resolve();
    const streams = [...this.#links].map((link) => link.closed);
    Promise.all([...this.#sessions].map((s) => closeWhenDone(s, streams))).then(() => this.#closed.resolve());
  }

  /** Closes; `await using` calls it. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  #wait(
    options: CallOptions | undefined,
    wait: (outbox: Outbox, signal?: AbortSignal) => Promise<void>,
  ): Promise<void> {
    const refused = refusal(options);
    if (refused !== undefined) return Promise.reject(refused);
    const signal = options?.signal;
    const outboxes = [...this.#channels.values()].flatMap((c) => c.kind === "recv" ? [c.outbox] : []);
    return Promise.all(outboxes.map((outbox) => wait(outbox, signal))).then(noop);
  }

  #end(name: string, channel: Channel, why: string): void {
    const error = new ConnClosedError({ op: "write", detail: `channel ${JSON.stringify(name)} was ${why}` });
    if (channel.kind === "recv") {
      channel.outbox.stop(error, why);
    } else {
      for (const link of channel.links) link.hangup(why);
      channel.inbox.drop();
      channel.inbox.end();
    }
  }

  /** The writable of a "recv" channel closed or aborted: the name is free. */
  #forget(name: string, outbox: Outbox): void {
    const channel = this.#channels.get(name);
    if (channel?.kind === "recv" && channel.outbox === outbox) this.#channels.delete(name);
  }

  /** Reads a stream's IMPORT and accepts or refuses it. */
  async #answer(stream: Conn, addr: string): Promise<void> {
    const frames = typedFrames(stream, { maxMessageSize: this.#options.maxMessageSize });
    const refuse = (why: Refusal, detail: string) => {
      frames.send({ type: Type.REFUSE, data: refuseBody(why, detail) })
        .then(() => frames.closeWrite())
        .then(() => frames.close(), () => frames.close());
    };
    let request;
    try {
      // A peer that opens streams and says nothing gets them closed.
      const first = await frames.receive({ signal: AbortSignal.timeout(this.#importTimeout) });
      if (first === null) return frames.close();
      if (first.type !== Type.IMPORT) {
        throw new ProtocolError({
          op: "import",
          addr,
          detail: `the first message was type ${first.type}, not IMPORT`,
        });
      }
      request = parseImport(first.data, addr);
    } catch (err) {
      if (err instanceof ProtocolError) return refuse("bad request", err.detail ?? err.message);
      return frames.close();
    }
    const { name } = request;
    if (request.version !== VERSION) {
      return refuse("unsupported version", `this exporter speaks version ${VERSION}, not ${request.version}`);
    }
    if (request.codec !== this.#options.codec.name) {
      return refuse(
        "codec mismatch",
        `the exporter's codec is ${JSON.stringify(this.#options.codec.name)}, the importer's ${
          JSON.stringify(request.codec)
        }: both ends must use the same codec`,
      );
    }
    const channel = this.#channels.get(name);
    if (channel === undefined) {
      return refuse("unknown channel", `nothing is exported as ${JSON.stringify(name)} here`);
    }
    if (channel.kind !== request.direction) {
      const has = channel.kind === "recv" ? "receive from" : "send to";
      return refuse("wrong direction", `${JSON.stringify(name)} is exported for importers to ${has} it`);
    }
    let link: SendLink | RecvLink;
    const onDone = (error: unknown) => {
      this.#links.delete(link);
      if (error !== null && this.#state.kind === "open") this.#log.report(ChannelError.from(name, error));
    };
    if (channel.kind === "recv") {
      const window = Math.min(request.window, this.#maxBufferSize);
      link = new SendLink({ channel: name, stream, frames, addr, window, onDone }, channel.outbox);
      this.#links.add(link);
      link.start();
      return;
    }
    const window = Math.min(request.window, channel.window);
    const recv: RecvLink = new RecvLink({
      channel: name,
      stream,
      frames,
      addr,
      window,
      onDone: (error) => {
        channel.links.delete(recv);
        onDone(error);
      },
    }, {
      inbox: channel.inbox,
      codec: this.#options.codec,
      limit: Infinity,
      validate: channel.validate,
      report: (err) => this.#log.report(err),
      onEnd: noop,
    });
    link = recv;
    channel.links.add(recv);
    this.#links.add(recv);
    recv.start();
  }
}

/** Whether `err` says only that the conn went away (closed or reset). */
function wentAway(err: unknown): boolean {
  return err instanceof ConnClosedError || (err as { code?: unknown })?.code === "ECONNRESET";
}
