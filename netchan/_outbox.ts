/**
 * Where written values wait for a link with credit: the `WritableStream`
 * behind an exported "recv" channel or an imported "send" one. A value goes
 * to exactly one link; the writer waits (through the stream's
 * backpressure) while no link has credit. The outbox also knows, for
 * `drain()` and `sync()`, which values are still unacknowledged. Private to
 * netchan.
 *
 * @module
 */

import { MessageTooLargeError } from "../errors.ts";
import { Fifo } from "../_async/fifo.ts";
import { type Waiter, waiter } from "../_async/waiter.ts";
import type { Codec } from "./codec.ts";
import { UndeliveredError } from "./errors.ts";
import type { ChannelError } from "./errors.ts";

/** One written value, from the moment the outbox takes it until it is settled. */
export interface Entry {
  readonly value: unknown;
  readonly bytes: Uint8Array;
  /** Its place among the values written to this outbox, from 0. */
  readonly index: number;
  /** Acknowledged, or given up on (and reported). */
  settled: boolean;
  /** Called once it settles; only `sync()` sets them. */
  watchers: (() => void)[] | null;
}

/** A link that sends values, as the outbox sees it. */
export interface Dispatch {
  /** Whether it has credit and may take a value now. */
  readonly canSend: boolean;
  /** Whether it stands in the outbox's line of links with credit. */
  inLine: boolean;
  /** Takes one value; only while `canSend`. */
  send(entry: Entry): void;
  /** The values it sent that are not yet acknowledged. */
  unacknowledged(): Iterable<Entry>;
  /** Ends the link after what it sent: the writer closed. */
  end(): void;
  /** Ends the link now, telling the peer why. */
  hangup(reason: string): void;
}

/** What an outbox needs from its owner. */
export interface OutboxInit {
  readonly channel: string;
  readonly codec: Codec;
  readonly maxMessageSize: number;
  /** Values the writable queues before it signals backpressure. */
  readonly highWaterMark: number;
  /** Reports undelivered values (and other errors) on the owner's `errors`. */
  readonly report: (err: ChannelError) => void;
  /** The writer closed and every value was handed to a link. */
  readonly onClosed: () => void;
  /** The writer aborted, or a write failed: the channel is over. */
  readonly onAborted: (reason: unknown) => void;
}

/**
 * `open`; `closing` (the writer closed: values still to hand out);
 * `closed`; `stopped` (hung up, aborted or failed: writes reject with
 * `error`).
 */
type State =
  | { readonly kind: "open" }
  | { readonly kind: "closing"; readonly done: Waiter<void> }
  | { readonly kind: "closed" }
  | { readonly kind: "stopped"; readonly error: unknown };

/** Values on their way out, shared by the links of one channel. */
export class Outbox<T = unknown> {
  readonly #init: OutboxInit;
  readonly #links = new Set<Dispatch>();
  /** Links with credit, in the order values go to them (round robin). */
  readonly #line = new Fifo<Dispatch>();
  /** Values handed back by a link whose peer dropped them: they go out first. */
  readonly #retry = new Fifo<Entry>();
  /** The write waiting for a link with credit, if any. */
  #waiting: { readonly entry: Entry; readonly done: Waiter<void> } | null = null;
  #state: State = { kind: "open" };
  #controller: WritableStreamDefaultController | null = null;
  /** Writes made (counted as the stream queues them), and values taken by the sink. */
  #written = 0;
  #entered = 0;
  /** Unsettled values in write order (settled ones leave from the front). */
  readonly #order = new Fifo<Entry>();
  readonly #drains: { readonly target: number; readonly done: Waiter<void> }[] = [];
  /** The values to write, one chunk each. */
  readonly writable: WritableStream<T>;

  /** An outbox; `init` says what the channel is and how to report. */
  constructor(init: OutboxInit) {
    this.#init = init;
    this.writable = new WritableStream<T>({
      start: (controller) => {
        this.#controller = controller;
      },
      write: (value) => this.#write(value),
      close: () => this.#close(),
      abort: (reason) => {
        this.stop(reason, `the writer aborted: ${describeReason(reason)}`);
        this.#init.onAborted(reason);
      },
    }, {
      highWaterMark: init.highWaterMark,
      // Counts each write as the stream queues it, so that drain() also
      // waits for values still in the stream's own queue.
      size: () => {
        if (this.#state.kind === "open") this.#written++;
        return 1;
      },
    });
  }

  /** Whether the writer may still write. */
  get open(): boolean {
    return this.#state.kind === "open";
  }

  /** Adds a link; it joins the line once it has credit. */
  attach(link: Dispatch): void {
    this.#links.add(link);
  }

  /**
   * Removes a link. `returned` are values its peer dropped unread: they go
   * to another link (or are reported if none can come). `lost` are values
   * that were in flight when the link failed: they may or may not have been
   * delivered, and never go out again; they are reported.
   */
  detach(link: Dispatch, returned: Entry[], lost: Entry[], why: string): void {
    this.#links.delete(link);
    if (lost.length > 0) this.#giveUp(lost, false, why);
    for (const entry of returned) this.#retry.push(entry);
    if (this.#state.kind === "stopped" || this.#state.kind === "closed") {
      this.#giveUp(this.#retry.removeFrom(0), true, why);
    }
    this.#dispatch();
  }

  /** A link has credit again. */
  ready(link: Dispatch): void {
    if (!link.inLine && this.#links.has(link)) {
      link.inLine = true;
      this.#line.push(link);
    }
    this.#dispatch();
  }

  /** A link's peer acknowledged `entry`. */
  settle(entry: Entry): void {
    if (entry.settled) return;
    entry.settled = true;
    if (entry.watchers !== null) { for (const watcher of entry.watchers) watcher(); }
    if (this.#drains.length > 0) this.#checkDrains();
  }

  /**
   * Ends the channel now: the pending write and later ones reject with
   * `error`, every link is hung up with `reason`, and values handed back
   * but not yet resent are reported undelivered.
   */
  stop(error: unknown, reason: string): void {
    const state = this.#state;
    if (state.kind === "stopped" || state.kind === "closed") return;
    this.#state = { kind: "stopped", error };
    this.#written = this.#entered;
    const waiting = this.#waiting;
    this.#waiting = null;
    waiting?.done.reject(error);
    if (state.kind === "closing") state.done.reject(error);
    this.#controller?.error(error);
    for (const link of [...this.#links]) link.hangup(reason);
    this.#links.clear();
    this.#giveUp(this.#retry.removeFrom(0), true, reason);
    if (waiting !== null) this.settle(waiting.entry);
    this.#checkDrains();
  }

  /**
   * Resolves once every value written before the call (including those
   * still queued in the writable) has been acknowledged or reported.
   */
  drain(signal?: AbortSignal): Promise<void> {
    return this.#waitSettled(this.#written, signal);
  }

  /**
   * Resolves once every value handed to a link before the call has been
   * acknowledged or reported.
   */
  sync(signal?: AbortSignal): Promise<void> {
    const pending: Entry[] = [];
    for (const link of this.#links) for (const e of link.unacknowledged()) if (!e.settled) pending.push(e);
    for (const e of this.#retry) if (!e.settled) pending.push(e);
    if (pending.length === 0) return Promise.resolve();
    let left = pending.length;
    const w = waiter<void>(signal, () => {
      for (const e of pending) e.watchers = e.watchers?.filter((f) => f !== watcher) ?? null;
    });
    const watcher = () => {
      if (--left === 0) w.resolve();
    };
    for (const e of pending) (e.watchers ??= []).push(watcher);
    return w.promise;
  }

  #write(value: T): Promise<void> | undefined {
    const state = this.#state;
    if (state.kind === "stopped") throw state.error;
    let bytes: Uint8Array;
    try {
      bytes = this.#init.codec.encode(value);
      if (bytes.length > this.#init.maxMessageSize) {
        throw new MessageTooLargeError({
          op: "send",
          size: bytes.length,
          limit: this.#init.maxMessageSize,
          detail: `a value on channel ${JSON.stringify(this.#init.channel)}`,
        });
      }
    } catch (err) {
      // A failed write errors the writable, as any WritableStream's does:
      // the channel is over for this writer.
      this.stop(err, `the writer failed: ${describeReason(err)}`);
      this.#init.onAborted(err);
      throw err;
    }
    const entry: Entry = { value, bytes, index: this.#entered++, settled: false, watchers: null };
    this.#order.push(entry);
    if (this.#retry.length === 0) {
      const link = this.#next();
      if (link !== null) {
        this.#hand(link, entry);
        return;
      }
    }
    const done = waiter<void>();
    this.#waiting = { entry, done };
    return done.promise;
  }

  #close(): Promise<void> {
    this.#written = this.#entered;
    const done = waiter<void>();
    this.#state = { kind: "closing", done };
    this.#dispatch();
    return done.promise;
  }

  /** Hands out what waits to the links with credit, oldest first. */
  #dispatch(): void {
    while (this.#retry.length > 0 || this.#waiting !== null) {
      const link = this.#next();
      if (link === null) break;
      if (this.#retry.length > 0) {
        this.#hand(link, this.#retry.shift());
      } else {
        const { entry, done } = this.#waiting!;
        this.#waiting = null;
        this.#hand(link, entry);
        done.resolve();
      }
    }
    const state = this.#state;
    if (state.kind === "closing" && this.#retry.length === 0 && this.#waiting === null) {
      this.#state = { kind: "closed" };
      for (const link of this.#links) link.end();
      this.#checkDrains();
      state.done.resolve();
      this.#init.onClosed();
    }
  }

  /** The next link in line that can take a value, out of the line. */
  #next(): Dispatch | null {
    while (this.#line.length > 0) {
      const link = this.#line.shift();
      link.inLine = false;
      if (link.canSend && this.#links.has(link)) return link;
    }
    return null;
  }

  #hand(link: Dispatch, entry: Entry): void {
    link.send(entry);
    if (link.canSend) {
      link.inLine = true;
      this.#line.push(link);
    }
  }

  #giveUp(entries: Entry[], certain: boolean, why: string): void {
    const values = entries.filter((e) => !e.settled);
    if (values.length === 0) return;
    for (const entry of values) this.settle(entry);
    this.#init.report(
      new UndeliveredError({
        channel: this.#init.channel,
        values: values.map((e) => e.value),
        certain,
        detail: why,
      }),
    );
  }

  #settledThrough(): number {
    while (this.#order.length > 0 && this.#order.at(0).settled) this.#order.shift();
    return this.#order.length > 0 ? this.#order.at(0).index : this.#entered;
  }

  #waitSettled(target: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const last = this.#state.kind === "open" || this.#state.kind === "closing" ? Infinity : this.#entered;
    if (this.#settledThrough() >= Math.min(target, last)) return Promise.resolve();
    const done = waiter<void>(signal, () => {
      const i = this.#drains.indexOf(entry);
      if (i >= 0) this.#drains.splice(i, 1);
    });
    const entry = { target, done };
    this.#drains.push(entry);
    return done.promise;
  }

  #checkDrains(): void {
    if (this.#drains.length === 0) return;
    // Writes still queued in a stream that can no longer take them will
    // never enter: they rejected, so nobody waits for them.
    const last = this.#state.kind === "open" || this.#state.kind === "closing" ? Infinity : this.#entered;
    const through = this.#settledThrough();
    for (let i = this.#drains.length - 1; i >= 0; i--) {
      const d = this.#drains[i];
      if (Math.min(d.target, last) <= through) {
        this.#drains.splice(i, 1);
        d.done.resolve();
      }
    }
  }
}

function describeReason(reason: unknown): string {
  if (reason instanceof Error) return reason.message || reason.name;
  return reason === undefined ? "no reason given" : String(reason);
}
