/**
 * A link: one import of one channel, on its own mux stream. One end sends
 * values ({@linkcode SendLink}), the other receives them
 * ({@linkcode RecvLink}): the exporter's end of a "recv" import sends, the
 * importer's receives, and the reverse for "send". The message loop, the
 * credit and the acknowledgements live here, the same for both sides;
 * netchan/PROTOCOL.md is the spec. Private to netchan.
 *
 * @module
 */

import type { Conn } from "../conn.ts";
import { ConnClosedError, ProtocolError } from "../errors.ts";
import type { FramedConn, TypedMessage } from "../frame.ts";
import { Fifo } from "../_async/fifo.ts";
import { noop } from "../_async/waiter.ts";
import type { Codec } from "./codec.ts";
import { ChannelRefusedError, type Issue, ValidationError } from "./errors.ts";
import type { ChannelError } from "./errors.ts";
import type { Inbox, Source } from "./_inbox.ts";
import type { Dispatch, Entry, Outbox } from "./_outbox.ts";
import { MessageWriter } from "./_writer.ts";
import {
  checkEmpty,
  hangupBody,
  MAX_WINDOW,
  parseAck,
  parseHangup,
  parseRefuse,
  Type,
  typeName,
} from "./_wire.ts";

/** What every link is made from. */
export interface LinkInit {
  readonly channel: string;
  readonly stream: Conn;
  /** The stream's messages (it may hold bytes the peer sent after its IMPORT). */
  readonly frames: FramedConn<TypedMessage>;
  /** The peer's address, for errors. */
  readonly addr: string;
  /** The agreed window (exporter's side) or the one asked for (importer's side). */
  readonly window: number;
  /** The importer's side: the IMPORT body to send; ACCEPT or REFUSE comes first. */
  readonly importing?: Uint8Array;
  /** Called once when the link is over: `null` for a clean end. */
  readonly onDone: (error: unknown) => void;
}

/**
 * `opening` (IMPORT sent, waiting for ACCEPT), `open`, or `done` (over: the
 * stream is closed, or closes once what was written is flushed).
 */
type Phase = "opening" | "open" | "done";

/** The message loop and the writer every link has. */
abstract class Link {
  readonly channel: string;
  readonly addr: string;
  protected readonly stream: Conn;
  protected readonly out: MessageWriter;
  protected window: number;
  readonly #frames: FramedConn<TypedMessage>;
  readonly #onDone: (error: unknown) => void;
  #phase: Phase;

  protected constructor(init: LinkInit) {
    this.channel = init.channel;
    this.addr = init.addr;
    this.stream = init.stream;
    this.window = init.window;
    this.#frames = init.frames;
    this.#onDone = init.onDone;
    this.out = new MessageWriter(init.stream, (err) => this.fail(err));
    if (init.importing !== undefined) {
      this.#phase = "opening";
      this.out.send(Type.IMPORT, init.importing);
    } else {
      this.#phase = "open";
      const body = new Uint8Array(4);
      new DataView(body.buffer).setUint32(0, this.window);
      this.out.send(Type.ACCEPT, body);
    }
  }

  /** Starts reading the peer's messages. */
  start(): void {
    if (this.#phase === "open") this.opened();
    this.#run();
  }

  /** Settles once the link's stream is closed both ways. */
  get closed(): Promise<void> {
    return this.stream.closed;
  }

  protected get phase(): Phase {
    return this.#phase;
  }

  /** Ends the link with `error`: the stream is closed at once. */
  fail(error: unknown): void {
    if (this.#phase === "done") return;
    this.#phase = "done";
    this.out.close();
    this.stream.close();
    this.failed(error);
    this.#onDone(error);
  }

  /** Ends the link cleanly: the stream closes once what was written is flushed. */
  protected finish(): void {
    if (this.#phase === "done") return;
    this.#phase = "done";
    this.out.flushed().then(() => this.stream.close());
    this.#onDone(null);
  }

  /** The link is open (ACCEPT sent or received). */
  protected abstract opened(): void;
  /** One message from the peer, after the handshake; throws `ProtocolError` for bad ones. */
  protected abstract message(type: number, body: Uint8Array): void;
  /** The peer half-closed the stream. */
  protected abstract eof(): void;
  /** The link failed with `error`. */
  protected abstract failed(error: unknown): void;

  protected protocolError(detail: string): ProtocolError {
    return new ProtocolError({
      op: "receive",
      addr: this.addr,
      detail: `channel ${this.#quoted()}: ${detail}`,
    });
  }

  protected unexpected(type: number): ProtocolError {
    return this.protocolError(`${typeName(type)} is not expected here`);
  }

  protected closedByPeer(): ConnClosedError {
    return new ConnClosedError({
      op: "receive",
      addr: this.addr,
      detail: `channel ${this.#quoted()}: the peer closed the stream without END or HANGUP`,
    });
  }

  #quoted(): string {
    return JSON.stringify(this.channel);
  }

  async #run(): Promise<void> {
    try {
      for (;;) {
        const message = await this.#frames.receive();
        if (this.#phase === "done") return;
        if (message === null) return this.eof();
        if (this.#phase === "opening") this.#opening(message);
        else this.message(message.type, message.data);
        if ((this.#phase as Phase) === "done") return;
      }
    } catch (err) {
      this.fail(err);
    }
  }

  #opening({ type, data }: TypedMessage): void {
    if (type === Type.ACCEPT) {
      if (data.length !== 4) throw this.protocolError(`bad ACCEPT: ${data.length} bytes, 4 expected`);
      const window = new DataView(data.buffer, data.byteOffset, 4).getUint32(0);
      if (window < 1 || window > this.window) {
        throw this.protocolError(`bad ACCEPT: window ${window}, expected 1 to ${this.window}`);
      }
      this.window = window;
      this.#phase = "open";
      this.opened();
    } else if (type === Type.REFUSE) {
      const { refusal, reason } = parseRefuse(data, this.addr);
      this.fail(
        new ChannelRefusedError({ channel: this.channel, addr: this.addr, reason: refusal, detail: reason }),
      );
    } else {
      throw this.protocolError(`${typeName(type)} before ACCEPT`);
    }
  }
}

/** The end of a link that sends values, taking them from an outbox. */
export class SendLink extends Link implements Dispatch {
  inLine = false;
  readonly #outbox: Outbox;
  readonly #inFlight = new Fifo<Entry>();
  #credit = 0;
  #ending = false;

  /** A link sending `outbox`'s values. */
  constructor(init: LinkInit, outbox: Outbox) {
    super(init);
    this.#outbox = outbox;
    outbox.attach(this);
  }

  get canSend(): boolean {
    return this.#credit > 0 && !this.#ending && this.phase === "open";
  }

  send(entry: Entry): void {
    this.#credit--;
    this.#inFlight.push(entry);
    this.out.send(Type.VALUE, entry.bytes);
  }

  unacknowledged(): Iterable<Entry> {
    return this.#inFlight;
  }

  end(): void {
    if (this.phase === "done" || this.#ending) return;
    this.#ending = true;
    this.out.send(Type.END, new Uint8Array(0));
    this.out.flushed().then(() => this.stream.closeWrite()).catch(noop);
  }

  hangup(reason: string): void {
    if (this.phase === "done") return;
    this.out.send(Type.HANGUP, hangupBody(reason));
    // What was sent before the HANGUP arrives before it, and a live peer
    // delivers it: those values are out of our hands.
    for (const entry of this.#inFlight.removeFrom(0)) this.#outbox.settle(entry);
    this.finish();
  }

  protected opened(): void {}

  protected message(type: number, body: Uint8Array): void {
    if (type === Type.ACK) {
      const { taken, credit } = parseAck(body, this.addr);
      if (taken > this.#inFlight.length) {
        throw this.protocolError(`ACK of ${taken} values; ${this.#inFlight.length} are unacknowledged`);
      }
      for (let i = 0; i < taken; i++) this.#outbox.settle(this.#inFlight.shift());
      if (this.#credit + credit + this.#inFlight.length > this.window) {
        throw this.protocolError(`credit beyond the window of ${this.window} values`);
      }
      this.#credit += credit;
      if (credit > 0 && !this.#ending) this.#outbox.ready(this);
    } else if (type === Type.HANGUP) {
      const reason = parseHangup(body, this.addr);
      // The peer dropped what it had not acknowledged: it may go to another.
      const returned = this.#inFlight.removeFrom(0);
      this.#outbox.detach(this, returned, [], `the peer hung up${reason ? `: ${reason}` : ""}`);
      this.finish();
    } else {
      throw this.unexpected(type);
    }
  }

  protected eof(): void {
    if (this.#ending && this.#inFlight.length === 0) {
      this.#outbox.detach(this, [], [], "");
      this.finish();
    } else {
      this.fail(this.closedByPeer());
    }
  }

  protected failed(error: unknown): void {
    const lost = this.#inFlight.removeFrom(0);
    this.#outbox.detach(this, [], lost, `in flight when the link failed: ${describe(error)}`);
  }
}

/** A Standard Schema validation result, as the link needs it. */
export type Validated = { readonly value: unknown; readonly issues?: undefined } | {
  readonly issues: readonly Issue[];
};

/** What a receiving link needs beyond {@linkcode LinkInit}. */
export interface RecvInit {
  readonly inbox: Inbox;
  readonly codec: Codec;
  /** Values after which the link ends (an import's `count`); `Infinity` for none. */
  readonly limit: number;
  /** The channel's schema check, if any. */
  readonly validate?: (value: unknown) => Validated | Promise<Validated>;
  /** Reports validation failures on the owner's `errors`. */
  readonly report: (err: ChannelError) => void;
  /** Every value of the link was delivered (the peer ended, or the count was reached). */
  readonly onEnd: () => void;
}

/**
 * Whether the sender is still sending: `sending`, `ended` (END: the link
 * finishes once its values are taken), `hungUp` (HANGUP: likewise, with no
 * more acknowledgements owed).
 */
type PeerState = "sending" | "ended" | "hungUp";

/** The end of a link that receives values, into an inbox. */
export class RecvLink extends Link implements Source {
  readonly #recv: RecvInit;
  #limit: number;
  #peer: PeerState = "sending";
  /** Credit the peer holds; values received and not yet taken. */
  #granted = 0;
  #buffered = 0;
  /** What the next ACK carries. */
  #taken = 0;
  #credit = 0;
  /** Values waiting for an asynchronous validation, in arrival order. */
  #validating: Promise<void> | null = null;
  #inValidation = 0;
  /** The timer of an ACK put off until a burst is over. */
  #deferred: ReturnType<typeof setTimeout> | undefined;

  /** A link receiving into `recv.inbox`. */
  constructor(init: LinkInit, recv: RecvInit) {
    super(init);
    this.#recv = recv;
    this.#limit = recv.limit;
  }

  /** The reader took one of this link's values. */
  taken(): void {
    if (this.phase === "done") return;
    this.#buffered--;
    this.#limit--;
    this.#taken++;
    if (this.#limit === 0) return this.#countReached();
    this.#replenish();
    this.#acknowledge(false);
    this.#maybeComplete();
  }

  /** Ends the link from this side: values not yet taken are dropped, and the peer is told. */
  hangup(reason: string): void {
    if (this.phase === "done") return;
    this.#recv.inbox.dropFrom(this);
    this.#credit = 0;
    this.#acknowledge(true);
    this.out.send(Type.HANGUP, hangupBody(reason));
    this.finish();
  }

  protected opened(): void {
    this.#replenish();
    this.#acknowledge(true);
  }

  protected message(type: number, body: Uint8Array): void {
    if (type === Type.VALUE) {
      if (this.#peer !== "sending") throw this.protocolError("VALUE after END or HANGUP");
      if (this.#granted === 0) throw this.protocolError("VALUE beyond the credit granted");
      this.#granted--;
      this.#buffered++;
      let value: unknown;
      try {
        value = this.#recv.codec.decode(body);
      } catch (err) {
        throw this.protocolError(
          `a VALUE the codec ${JSON.stringify(this.#recv.codec.name)} could not decode: ${describe(err)}`,
        );
      }
      this.#arrived(value);
    } else if (type === Type.END) {
      checkEmpty("END", body, this.addr);
      if (this.#peer !== "sending") throw this.protocolError("END after END or HANGUP");
      this.#peer = "ended";
      this.#maybeComplete();
    } else if (type === Type.HANGUP) {
      parseHangup(body, this.addr);
      if (this.#peer === "hungUp") throw this.protocolError("HANGUP after HANGUP");
      this.#peer = "hungUp";
      this.#maybeComplete();
    } else {
      throw this.unexpected(type);
    }
  }

  protected eof(): void {
    if (this.#peer === "sending") this.fail(this.closedByPeer());
  }

  protected failed(): void {
    clearTimeout(this.#deferred);
  }

  #arrived(value: unknown): void {
    const validate = this.#recv.validate;
    if (validate === undefined) return this.#recv.inbox.push(this, value);
    if (this.#validating === null) {
      let result: Validated | Promise<Validated>;
      try {
        result = validate(value);
      } catch (err) {
        return this.#validatorFailed(value, err);
      }
      if (!(result instanceof Promise)) return this.#validated(value, result);
      this.#chain(result.then((r) => this.#validated(value, r), (err) => this.#validatorFailed(value, err)));
    } else {
      // An earlier value is still being checked: this one waits its turn,
      // so values reach the reader in the order they arrived.
      this.#chain(
        this.#validating.then(() => validate(value)).then(
          (r) => this.#validated(value, r),
          (err) => this.#validatorFailed(value, err),
        ),
      );
    }
  }

  #chain(step: Promise<void>): void {
    this.#inValidation++;
    const chained: Promise<void> = step.then(() => {
      if (--this.#inValidation === 0) this.#validating = null;
    });
    this.#validating = chained;
  }

  #validated(value: unknown, result: Validated): void {
    if (this.phase === "done") return;
    if (result.issues === undefined) return this.#recv.inbox.push(this, result.value);
    this.#recv.report(
      new ValidationError({ channel: this.channel, addr: this.addr, value, issues: result.issues }),
    );
    this.#rejected();
  }

  #validatorFailed(value: unknown, err: unknown): void {
    this.#validated(value, { issues: [{ message: `the validator threw: ${describe(err)}` }] });
  }

  /**
   * A value failed validation: it is acknowledged, and its credit given
   * back at once, since no reader will take it to make the ACK due.
   */
  #rejected(): void {
    this.#buffered--;
    this.#taken++;
    this.#replenish();
    this.#acknowledge(true);
    this.#maybeComplete();
  }

  #replenish(): void {
    if (this.#peer !== "sending" || this.phase !== "open") return;
    const target = Math.min(this.window, this.#limit, MAX_WINDOW);
    const more = target - this.#granted - this.#buffered;
    if (more > 0) {
      this.#granted += more;
      this.#credit += more;
    }
  }

  /**
   * Asks for an ACK: at once when `now` or when half the window is owed
   * (the sender may be waiting for that credit); otherwise, once the
   * reader has caught up, a moment later, so that the acknowledgements of a
   * burst of values travel together and `drain()` still hears of each.
   */
  #acknowledge(now: boolean): void {
    const owed = this.#taken + this.#credit;
    if (owed === 0 || this.#peer === "hungUp" || this.phase === "done") return;
    const threshold = Math.max(1, Math.floor(Math.min(this.window, this.#limit) / 2));
    if (now || owed >= threshold) {
      this.out.ack(this.#counts);
    } else if (this.#buffered === 0 && this.#deferred === undefined) {
      this.#deferred = setTimeout(() => {
        this.#deferred = undefined;
        this.#acknowledge(true);
      }, 0);
    }
  }

  readonly #counts = (): [number, number] | null => {
    clearTimeout(this.#deferred);
    this.#deferred = undefined;
    if (this.#taken === 0 && this.#credit === 0) return null;
    const counts: [number, number] = [this.#taken, this.#credit];
    this.#taken = this.#credit = 0;
    return counts;
  };

  #maybeComplete(): void {
    if (this.#peer === "sending" || this.#buffered > 0 || this.phase === "done") return;
    this.#acknowledge(true);
    this.finish();
    this.#recv.onEnd();
  }

  #countReached(): void {
    this.#credit = 0;
    this.#acknowledge(true);
    this.out.send(Type.HANGUP, hangupBody("count reached"));
    this.finish();
    this.#recv.onEnd();
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
