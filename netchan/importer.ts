/**
 * The importing end of netchan: {@linkcode Importer} imports channels an
 * `Exporter` publishes, each on its own mux stream.
 *
 * @module
 */

import type { Schema } from "./schema.ts";
import type { CallOptions, Conn } from "../conn.ts";
import { ConnClosedError } from "../errors.ts";
import { typedFrames } from "../frame.ts";
import { connect, type ConnectOptions } from "../transports/mod.ts";
import { noop, waiter } from "../_async/waiter.ts";
import { checkWhole, refusal } from "../_validate.ts";
import { mux, type MuxOptions, type Session } from "../mux/mod.ts";
import type { Codec } from "./codec.ts";
import { ChannelError } from "./errors.ts";
import { ErrorLog } from "./_error_log.ts";
import { Inbox } from "./_inbox.ts";
import { type LinkInit, RecvLink, SendLink } from "./_link.ts";
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
import { importBody } from "./_wire.ts";
import { closeWhenDone } from "./_session.ts";
import { connWhere } from "../_where.ts";

/**
 * Options of an {@linkcode Importer}.
 *
 * @example
 * ```ts
 * import { pipe } from "@tether/tether";
 * import { Importer, type ImporterOptions } from "@tether/tether/netchan";
 *
 * const options: ImporterOptions = { maxErrors: 16, mux: { keepAlive: 10_000 } };
 * const [a] = pipe();
 * await using imp = new Importer(a, options);
 * ```
 */
export interface ImporterOptions {
  /** How values become bytes; default `msgpackCodec`. It must match the exporter's. */
  codec?: Codec;
  /** The largest encoded value, in bytes, sent or accepted; default 3 MiB. */
  maxMessageSize?: number;
  /** How many errors `errors` keeps unread before it drops the oldest; default 64. */
  maxErrors?: number;
  /** Options of the mux session over the conn (`maxStreams` defaults to 4096 here). */
  mux?: Omit<MuxOptions, "role">;
}

/**
 * Options of {@linkcode Importer.import}.
 *
 * @example
 * ```ts
 * import type { ImportOptions } from "@tether/tether/netchan";
 *
 * const options: ImportOptions = { bufferSize: 16, count: 100 };
 * console.log(options.count); // 100
 * ```
 */
export interface ImportOptions<T = unknown> {
  /**
   * "recv": how many values may wait here unread; the exporter never sends
   * more than that ahead of the reader. "send": how many values may be in
   * flight to the exporter, unacknowledged (it may grant fewer). Default 64.
   */
  bufferSize?: number;
  /**
   * "recv" only: the stream ends after this many values (Go's
   * ImportNValues). The exporter is never granted more, so values beyond
   * them stay with the exporter for other importers.
   */
  count?: number;
  /**
   * "recv" only: a Standard Schema v1 validator (zod, valibot, arktype...)
   * each value must pass. A value that fails never reaches the stream: it
   * goes to `errors` as a `ValidationError` with the issues. Its output is
   * what the stream carries (so transforms apply). It may be async.
   */
  schema?: Schema<T>;
}

/** A link of this importer, or one still waiting for its stream. */
interface Import {
  hangup(reason: string): void;
  /** Settles once its stream is closed (at once if it has none). */
  closed(): Promise<void>;
  drain?(signal?: AbortSignal): Promise<void>;
  sync?(signal?: AbortSignal): Promise<void>;
}

/** The importer's state: working, or closed for good. */
type State = { readonly kind: "open" } | { readonly kind: "closed"; readonly error: ConnClosedError };

/** The default `bufferSize` of an import. */
const DEFAULT_WINDOW = 64;

/**
 * Imports channels by name from the `Exporter` at the other end of a conn.
 * Each import is a mux stream of its own, with its own flow control: a
 * channel nobody reads never slows another.
 *
 * @example Receiving and sending
 * ```ts
 * import { pipe } from "@tether/tether";
 * import { Exporter, Importer } from "@tether/tether/netchan";
 *
 * const [a, b] = pipe();
 * await using exp = new Exporter();
 * const orders = exp.export<{ id: number }>("orders", "send");
 * exp.serveConn(a);
 *
 * await using imp = new Importer(b);
 * const writer = imp.import<{ id: number }>("orders", "send").getWriter();
 * await writer.write({ id: 7 });
 * const { value } = await orders.getReader().read();
 * console.log(value); // { id: 7 }
 * ```
 */
export class Importer implements AsyncDisposable {
  readonly #options: Endpoint;
  readonly #session: Session;
  readonly #addr: string;
  readonly #log: ErrorLog;
  readonly #imports = new Map<string, Set<Import>>();
  #state: State = { kind: "open" };
  readonly #closed = waiter<void>();

  /**
   * Connects with `connectOptions` (as `connect()` takes them) and imports
   * over that conn.
   *
   * @example
   * ```ts
   * import { listen } from "@tether/tether";
   * import { Exporter, Importer } from "@tether/tether/netchan";
   *
   * await using listener = listen({ transport: "memory", name: "netchan-connect" });
   * await using exp = new Exporter();
   * exp.export<number>("n", "recv");
   * exp.serve(listener);
   * await using imp = await Importer.connect({ transport: "memory", name: "netchan-connect" });
   * ```
   */
  static async connect(connectOptions: ConnectOptions, options?: ImporterOptions): Promise<Importer> {
    checkEndpoint(options, "Importer.connect");
    const conn = await connect(connectOptions);
    return new Importer(conn, options);
  }

  /** Imports over `conn`, which it now owns: `close()` closes it. */
  constructor(conn: Conn, options?: ImporterOptions) {
    this.#options = checkEndpoint(options, "new Importer");
    this.#addr = connWhere(conn);
    const session = mux(conn, { ...this.#options.mux, role: "client" });
    this.#session = session;
    this.#log = new ErrorLog(this.#options.maxErrors);
    // An exporter never opens streams: any it does is turned away.
    (async () => {
      for await (const stream of session) stream.close();
    })().catch(noop).finally(() => this.#sessionEnded());
  }

  /**
   * Transmission, protocol and validation errors, and undelivered values,
   * each a `ChannelError` naming its channel. Reading it is optional: it
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

  /** Settles once the importer is closed, or its conn has gone. */
  get closed(): Promise<void> {
    return this.#closed.promise;
  }

  /**
   * Imports a channel to receive from: the stream carries the values the
   * exporter sends this import. It ends when the exporter ends or hangs up
   * the channel (after the values already here) or after `count` values;
   * it errors with `ChannelRefusedError` if the exporter refuses the import
   * (unknown name, wrong direction, codec mismatch), with `ConnClosedError`
   * if the conn goes, with `ProtocolError` for bad input. Cancelling it
   * hangs this import up: values not yet read are dropped, and the exporter
   * hands them to its other importers.
   */
  import<T>(name: string, direction: "recv", options?: ImportOptions<T>): ReadableStream<T>;
  /**
   * Imports a channel to send to: values written go to the exporter. A
   * write waits (backpressure) while the exporter's credit is used up.
   * Closing the writable ends this import once its values are sent;
   * aborting it hangs up. Writes reject once the channel is hung up or the
   * conn goes; values that were in flight then are reported on `errors`.
   */
  import<T>(name: string, direction: "send", options?: ImportOptions<T>): WritableStream<T>;
  import<T>(
    name: string,
    direction: Direction,
    options?: ImportOptions<T>,
  ): ReadableStream<T> | WritableStream<T> {
    checkName(name);
    checkDirection(direction);
    const { bufferSize, count, schema } = checkCallOptions(options, "import");
    const window = checkWindow(bufferSize, DEFAULT_WINDOW);
    if (direction === "send" && (count !== undefined || schema !== undefined)) {
      throw new TypeError(`count and schema apply to "recv" imports, not "send"`);
    }
    const limit = count === undefined ? 0 : checkWhole(count, "count", 1, Number.MAX_SAFE_INTEGER);
    const validate = validatorOf(schema);
    if (this.#state.kind === "closed") throw this.#state.error;
    const body = importBody({ direction, window, count: limit, codec: this.#options.codec.name, name });
    return direction === "recv"
      ? this.#importRecv<T>(name, window, limit, body, validate)
      : this.#importSend<T>(name, window, body);
  }

  /**
   * Hangs up this importer's imports of `name`: its readers finish (values
   * not yet read are dropped and go to the exporter's other importers), its
   * writers reject with `ConnClosedError`. Returns whether any were open.
   *
   * @example
   * ```ts
   * import { pipe } from "@tether/tether";
   * import { Importer } from "@tether/tether/netchan";
   *
   * const [a] = pipe();
   * await using imp = new Importer(a);
   * const writer = imp.import<number>("jobs", "send").getWriter();
   * imp.hangup("jobs");
   * await writer.write(1).catch((err) => console.log(err.name)); // "ConnClosedError"
   * ```
   */
  hangup(name: string): boolean {
    const imports = this.#imports.get(name);
    if (imports === undefined) return false;
    this.#imports.delete(name);
    for (const i of imports) i.hangup("hung up by the importer");
    return true;
  }

  /**
   * Resolves once every value written to this importer's "send" imports
   * before the call has been received by the exporter (its reader took it)
   * or reported undelivered on `errors`. Waits on acknowledgements, never
   * polls; rejects with `signal.reason` if the signal aborts first.
   *
   * @example
   * ```ts
   * import { pipe } from "@tether/tether";
   * import { Exporter, Importer } from "@tether/tether/netchan";
   *
   * const [a, b] = pipe();
   * await using exp = new Exporter();
   * const inbox = exp.export<string>("log", "send").getReader();
   * exp.serveConn(a);
   * await using imp = new Importer(b);
   * imp.import<string>("log", "send").getWriter().write("started");
   * const drained = imp.drain({ signal: AbortSignal.timeout(5000) });
   * console.log((await inbox.read()).value); // "started"
   * await drained;
   * ```
   */
  drain(options?: CallOptions): Promise<void> {
    return this.#wait(options, (i, signal) => i.drain?.(signal));
  }

  /**
   * Resolves once every value already sent to the exporter at the time of
   * the call has been received by it (or reported undelivered); values
   * still queued here are not waited for.
   *
   * @example
   * ```ts
   * import { pipe } from "@tether/tether";
   * import { Importer } from "@tether/tether/netchan";
   *
   * const [a] = pipe();
   * await using imp = new Importer(a);
   * await imp.sync(); // nothing was sent
   * ```
   */
  sync(options?: CallOptions): Promise<void> {
    return this.#wait(options, (i, signal) => i.sync?.(signal));
  }

  /**
   * Closes: every import is hung up (readers error with `ConnClosedError`,
   * writers reject with it), then the conn is closed. Idempotent.
   */
  close(): void {
    if (this.#state.kind === "closed") return;
    const error = new ConnClosedError({ op: "import", addr: this.#addr, detail: "the importer was closed" });
    this.#state = { kind: "closed", error };
    const imports = [...this.#imports.values()].flatMap((set) => [...set]);
    this.#imports.clear();
    for (const i of imports) i.hangup("the importer closed");
    this.#log.close();
    closeWhenDone(this.#session, imports.map((i) => i.closed()));
  }

  /** Closes; `await using` calls it. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  #wait(
    options: CallOptions | undefined,
    wait: (i: Import, signal?: AbortSignal) => Promise<void> | undefined,
  ): Promise<void> {
    const refused = refusal(options);
    if (refused !== undefined) return Promise.reject(refused);
    const all = [...this.#imports.values()].flatMap((set) => [...set]);
    return Promise.all(all.map((i) => wait(i, options?.signal))).then(noop);
  }

  #sessionEnded(): void {
    const error = new ConnClosedError({ op: "import", addr: this.#addr, detail: "the conn was closed" });
    if (this.#state.kind === "open") this.#state = { kind: "closed", error };
    this.#log.close();
    this.#session.closed.then(() => this.#closed.resolve());
  }

  #track(name: string, i: Import): () => void {
    let set = this.#imports.get(name);
    if (set === undefined) this.#imports.set(name, set = new Set());
    set.add(i);
    return () => {
      set.delete(i);
      if (set.size === 0 && this.#imports.get(name) === set) this.#imports.delete(name);
    };
  }

  #report(name: string, error: unknown): void {
    if (this.#state.kind === "open") this.#log.report(ChannelError.from(name, error));
  }

  /** Opens the import's stream; `null` (and `failed` told) if that fails. */
  async #open(failed: (err: unknown) => void): Promise<Conn | null> {
    try {
      return await this.#session.open();
    } catch (err) {
      failed(this.#state.kind === "closed" ? this.#state.error : err);
      return null;
    }
  }

  #importRecv<T>(
    name: string,
    window: number,
    count: number,
    body: Uint8Array,
    validate: ReturnType<typeof validatorOf>,
  ): ReadableStream<T> {
    let link: RecvLink | null = null;
    let hungUp: string | null = null;
    const inbox = new Inbox<T>(() => imp.hangup("cancelled by the importer's reader"));
    const imp: Import = {
      closed: () => link?.closed ?? Promise.resolve(),
      hangup: (reason) => {
        hungUp = reason;
        forget();
        if (this.#state.kind === "closed") inbox.fail(this.#state.error);
        else inbox.end();
        link?.hangup(reason);
      },
    };
    const forget = this.#track(name, imp);
    const fail = (error: unknown) => {
      forget();
      inbox.fail(error);
      this.#report(name, error);
    };
    this.#open(fail).then((stream) => {
      if (stream === null) return;
      if (hungUp !== null) return stream.close();
      link = new RecvLink(
        this.#linkInit(name, stream, window, body, (error) => error === null ? forget() : fail(error)),
        {
          inbox: inbox as Inbox,
          codec: this.#options.codec,
          limit: count === 0 ? Infinity : count,
          validate,
          report: (err) => this.#log.report(err),
          onEnd: () => inbox.end(),
        },
      );
      link.start();
    });
    return inbox.readable;
  }

  #importSend<T>(name: string, window: number, body: Uint8Array): WritableStream<T> {
    let link: SendLink | null = null;
    const outbox: Outbox<T> = new Outbox<T>({
      channel: name,
      codec: this.#options.codec,
      maxMessageSize: this.#options.maxMessageSize,
      highWaterMark: 1,
      report: (err) => this.#log.report(err),
      onClosed: noop,
      onAborted: () => forget(),
    });
    const stop = (error: unknown, reason: string) => {
      forget();
      outbox.stop(error, reason);
    };
    const imp: Import = {
      closed: () => link?.closed ?? Promise.resolve(),
      hangup: (reason) => {
        const error = this.#state.kind === "closed" ? this.#state.error : new ConnClosedError({
          op: "write",
          addr: this.#addr,
          detail: `channel ${JSON.stringify(name)} was hung up by the importer`,
        });
        stop(error, reason);
        if (link === null) pending = reason;
      },
      drain: (signal) => outbox.drain(signal),
      sync: (signal) => outbox.sync(signal),
    };
    let pending: string | null = null;
    const forget = this.#track(name, imp);
    const fail = (error: unknown) => {
      this.#report(name, error);
      stop(error, "the link failed");
    };
    this.#open(fail).then((stream) => {
      if (stream === null) return;
      if (pending !== null) return stream.close();
      link = new SendLink(
        this.#linkInit(name, stream, window, body, (error) => {
          if (error !== null) return fail(error);
          // The exporter hung up, or this side's END was acknowledged.
          stop(
            new ConnClosedError({
              op: "write",
              addr: this.#addr,
              detail: `channel ${JSON.stringify(name)} was hung up by the exporter`,
            }),
            "hung up by the exporter",
          );
        }),
        outbox as Outbox,
      );
      link.start();
    });
    return outbox.writable;
  }

  /** What a link for an import of channel `name` on `stream`, asking for `window`, is made from. */
  #linkInit(
    name: string,
    stream: Conn,
    window: number,
    body: Uint8Array,
    onDone: LinkInit["onDone"],
  ): LinkInit {
    const frames = typedFrames(stream, { maxMessageSize: this.#options.maxMessageSize });
    return { channel: name, stream, frames, addr: this.#addr, window, importing: body, onDone };
  }
}
