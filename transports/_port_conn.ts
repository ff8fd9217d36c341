/**
 * {@linkcode PortConn}: a `QueueConn` over one end of a `MessageChannel`,
 * fed and drained by the messages of `_port_wire.ts` (read its table
 * first). Private to `transports/`; `worker.ts` publishes it as `portConn()`.
 *
 * - **Credit.** Each end grants its peer its receive window in HELLO and
 *   more as its reader takes bytes out (batched, half a window at a time:
 *   each grant is a message, and messages are what costs); the send pump
 *   never posts more than it was granted, so the port's own queue holds at
 *   most one window. A window left at its default grows (doubling, up to
 *   `maxWindow`) each time a grant finds the reader caught up, nothing
 *   queued: a reader that keeps up gets enough in flight to cover the
 *   message round trip between threads, one that falls behind keeps the
 *   window it has. The send queue of a default window grows with the credit
 *   a revision 2 peer grants (up to the same maximum): a peer that reads
 *   grants more, one that does not leaves the writer at its first window.
 *   The one exception to credit is `close()`: the bytes already queued (at
 *   most the send queue) go out at once with FIN, so that nothing waits on a
 *   peer that does not read.
 * - **Buffers.** A chunk of 32 KiB or more that is all of its buffer (one
 *   written to `writable`, or the queue's own copy of a `write(p)`) is
 *   transferred, not copied; a view into a larger buffer is cut out first.
 *   Smaller chunks are cloned: below ~16 KiB a transfer costs Deno more
 *   than a copy.
 * - **Lending.** A transferred chunk that is a copy from the shared pool
 *   (`_copy_buffers.ts`) is lent to a revision 2 peer (LEND): once its
 *   reader has copied it out, the buffer comes back with the next credit
 *   (RETURN) and goes to the pool, where the next copy finds it. An isolate
 *   then neither allocates nor collects 64 KiB per write: measured, that
 *   was most of a worker conn's cost over a raw post. A writer's own chunks
 *   (to `writable`) are not lent (KEEP): it would not use them again.
 * - **Batching.** Posting costs far more than queueing (several µs a
 *   message), so a small write that follows a post of ours with nothing
 *   heard from the peer since (a writer running ahead) makes the pump wait a
 *   few microtask turns while the writer goes on, and post all of it at
 *   once; big writes, likewise, up to half the send queue. A write that
 *   answers what just came in leaves at once.
 * - **Ready.** Nothing is sent before the peer's HELLO, so a conn used
 *   before its other end is attached loses nothing and simply waits.
 * - **Peer gone.** A peer isolate that ends (see `_isolate.ts`) or a port
 *   that reports `close` ends the conn: reads get the bytes that arrived,
 *   then `ConnClosedError`; writes fail with it.
 *
 * @module
 */

import { type Addr, DEFAULT_BUFFER_SIZE, formatAddr } from "../conn.ts";
import { checkBufferSize } from "../_validate.ts";
import { ByteQueue } from "../byte_queue.ts";
import { QueueConn } from "../queue_conn.ts";
import { ConnClosedError, ProtocolError } from "../errors.ts";
import { noop, waiter } from "../_async/waiter.ts";
import { GATHER, gather } from "../_async/gather.ts";
import { fromPool, giveBuffer } from "../_copy_buffers.ts";
import { isolateLock, watchIsolate } from "./_isolate.ts";
import * as wire from "./_port_wire.ts";

/** How big a conn's windows are. */
export interface PortWindow {
  /** The most bytes queued to send, and the receive window to start with. */
  bufferSize: number;
  /**
   * How far the receive window may grow while the reader keeps up; at most
   * `bufferSize` (a fixed window) unless given.
   */
  maxWindow?: number;
}

/** The receive window a default window grows to while the reader keeps up. */
export const MAX_AUTO_WINDOW = 1024 * 1024;

/** The windows of `options.bufferSize`: fixed when given; from 64 KiB up to 1 MiB when not. */
export function portWindow(bufferSize: number | undefined): PortWindow {
  return bufferSize === undefined
    ? { bufferSize: DEFAULT_BUFFER_SIZE, maxWindow: MAX_AUTO_WINDOW }
    : { bufferSize: checkBufferSize(bufferSize) };
}

/** What a {@linkcode PortConn} is made of. */
export interface PortConnInit extends PortWindow {
  /** This end of the channel. */
  port: MessagePort;
  /** This end's address. */
  localAddr: Addr;
  /** The peer's address. */
  remoteAddr: Addr;
}

/**
 * The port's lifecycle, one of:
 * - `unattached`: the peer's HELLO has not come; nothing is sent but control;
 * - `attached`: data flows;
 * - `peerLeft`: the peer sent BYE before we were done (it closed before it
 *   ever heard from us); we finish as soon as our own FIN is out;
 * - `leaving`: we sent BYE, and wait for the peer's;
 * - `done`: the port is closed (orderly, or the peer is gone or broke the
 *   protocol).
 */
type Phase = "unattached" | "attached" | "peerLeft" | "leaving" | "done";
/** Sending: `open`; `closing` once `close()` was called (flush, then FIN); `finished` once FIN is out. */
type Sending = "open" | "closing" | "finished";
/** Receiving: `open`; `stopped` once we told the peer we read no more; `ended` once its FIN came. */
type Receiving = "open" | "stopped" | "ended";

/** The most chunks one post carries. */
const MAX_CHUNKS = 64;
/**
 * Buffers this large are transferred; smaller ones are copied by the
 * structured clone, which in Deno costs less than a transfer up to ~16 KiB
 * (measured: a 1 KiB post 17 µs cloned, 31 µs transferred; 64 KiB 103 µs
 * against 49 µs).
 */
const TRANSFER_FROM = 32 * 1024;

const OWNED = Object.freeze({ owned: true });
/** A chunk whose buffer goes back to the peer once copied out. */
const LENT = Object.freeze({ owned: true, lend: true });
/** Buffers up to this size are given back to a peer that lends them: the sizes its pool keeps. */
const LEND_UP_TO = 1024 * 1024;

/**
 * The buffers that more than one chunk of a message shares: never given
 * back, as giving one back with the chunk read first would empty the others.
 */
function sharedBuffers(chunks: Uint8Array[]): Set<ArrayBufferLike> | null {
  if (chunks.length < 2) return null;
  const seen = new Set<ArrayBufferLike>(), shared = new Set<ArrayBufferLike>();
  for (const chunk of chunks) {
    if (seen.has(chunk.buffer)) shared.add(chunk.buffer);
    else seen.add(chunk.buffer);
  }
  return shared;
}

/** A conn over a `MessagePort` whose other end is another `PortConn`. */
export class PortConn extends QueueConn {
  /** Settles once both directions are done and the port is closed. */
  declare readonly closed: Promise<void>;
  readonly #port: MessagePort;
  readonly #inbound: ByteQueue;
  readonly #outbound: ByteQueue;
  /** The receive window: the most bytes the peer may have sent and we not yet read. */
  #receiveWindow: number;
  readonly #maxWindow: number;
  #grantAt: number;
  readonly #addr: string;
  #phase: Phase = "unattached";
  #sending: Sending = "open";
  #receiving: Receiving = "open";
  /** Bytes we may still send. */
  #credit = 0;
  /** Bytes we may still send beyond credit, once closing. */
  #flushAllowance = 0;
  /** Bytes the peer may still send us. */
  #allowance: number;
  /** The peer's window, from its HELLO. */
  #peerWindow = 0;
  /** Bytes read out and not yet granted back. */
  #ungranted = 0;
  /** Whether the peer speaks revision 2 of the protocol: LEND, KEEP, RETURN, and a send queue that grows. */
  #peerRecycles = false;
  /** What we last told the peer of the buffers of our DATA. */
  #sendMode: "keep" | "lend" = "keep";
  /** What the peer last told us of the buffers of its DATA. */
  #peerMode: "keep" | "lend" = "keep";
  /** Buffers of the peer's data that the reader copied out, to go back with the next grant. */
  #returned: ArrayBuffer[] = [];
  /** How many messages came from the peer. */
  #heard = 0;
  /** {@linkcode #heard} when we last posted data. */
  #postedAt = -1;
  /** `gathering` while a writer running ahead is given time to queue more. */
  #batch: "idle" | "gathering" = "idle";
  /** What waits to be posted until our HELLO is out; `null` once it is. */
  #outbox: (() => void)[] | null = null;
  #unwatch: () => Promise<void> = () => Promise.resolve();
  readonly #done = waiter<void>();

  /** Starts the conn on `init.port`. */
  constructor(init: PortConnInit) {
    const window = init.bufferSize;
    // The queues call back into this conn, which exists only once they do.
    const hooks = {
      onRead: noop as (n: number) => void,
      onWrite: noop,
      onReturn: noop as (b: ArrayBuffer) => void,
    };
    const inbound = new ByteQueue({
      window,
      onRead: (n) => hooks.onRead(n),
      onReturn: (buffer) => hooks.onReturn(buffer),
    });
    const outbound = new ByteQueue({ window, onWrite: () => hooks.onWrite() });
    super({
      localAddr: init.localAddr,
      remoteAddr: init.remoteAddr,
      inbound,
      outbound,
      onCancelRead: () => this.#stopReading(),
    });
    hooks.onRead = (n) => this.#granted(n);
    hooks.onWrite = () => this.#flush();
    hooks.onReturn = (buffer) => {
      if (this.#receiving === "open") this.#returned.push(buffer);
    };
    this.#port = init.port;
    this.#inbound = inbound;
    this.#outbound = outbound;
    this.#allowance = window;
    this.#receiveWindow = window;
    this.#maxWindow = Math.max(window, init.maxWindow ?? window);
    this.#grantAt = Math.max(1, Math.floor(window / 2));
    this.#addr = formatAddr(init.remoteAddr);
    const queuesDone = this.closed;
    this.closed = Promise.all([queuesDone, this.#done.promise]).then(noop);
    const port = init.port;
    port.onmessage = (event) => this.#receive(event.data);
    port.onmessageerror = () => this.#broken("a message from the peer could not be deserialized");
    // Node's ports say when their other end is gone (Deno's and most browsers' do not).
    port.addEventListener("close", () => this.#gone("the other end of the port closed"));
    const lock = isolateLock();
    if (typeof lock === "string" || lock === null) {
      port.postMessage(wire.hello(window, lock));
    } else {
      this.#outbox = [];
      lock.then((name) => {
        port.postMessage(wire.hello(window, name));
        const outbox = this.#outbox!;
        this.#outbox = null;
        for (const post of outbox) post();
      });
    }
  }

  /** Posts `message`, after our HELLO. */
  #post(message: unknown, transfer: Transferable[] = []): void {
    if (this.#outbox !== null) {
      this.#outbox.push(() => this.#port.postMessage(message, transfer));
      return;
    }
    this.#port.postMessage(message, transfer);
  }

  #receive(data: unknown): void {
    if (this.#phase === "done") return;
    this.#heard++;
    if (data instanceof Uint8Array) return this.#data(data, this.#lendable(data));
    if (typeof data === "number") return this.#control(data);
    if (Array.isArray(data)) {
      if (typeof data[0] === "number") return this.#takeBack(data);
      for (const chunk of data) {
        if (!(chunk instanceof Uint8Array)) return this.#broken(`data holding ${wire.describeValue(chunk)}`);
      }
      const shared = this.#peerMode === "lend" ? sharedBuffers(data) : null;
      for (const chunk of data) this.#data(chunk, this.#lendable(chunk) && !shared?.has(chunk.buffer));
      return;
    }
    const message = wire.readObject(data);
    if (typeof message === "string") return this.#broken(message);
    if (message.kind === "abort") return this.#gone(`the peer gave up on the conn: ${message.reason}`);
    if (this.#phase !== "unattached") return this.#broken("a second hello");
    this.#phase = "attached";
    this.#credit = message.hello.window;
    this.#peerWindow = message.hello.window;
    this.#peerRecycles = message.hello.revision >= 2;
    this.#growSendQueue();
    const lock = message.hello.lock;
    if (lock !== null) {
      this.#unwatch = watchIsolate(
        lock,
        () => this.#gone("the peer's worker ended: terminated, crashed or closed"),
      );
    }
    this.#flush();
  }

  /**
   * Whether `chunk`'s buffer goes back to the peer once read: the peer lends
   * its DATA now, the chunk was transferred (all of its buffer, big enough)
   * and its size is one the peer's pool keeps. A buffer that two chunks of one message
   * share is never lent: giving it back with the first would empty the second.
   */
  #lendable(chunk: Uint8Array): boolean {
    const size = chunk.byteLength;
    return this.#peerMode === "lend" && size >= TRANSFER_FROM && size <= LEND_UP_TO &&
      (size & (size - 1)) === 0 &&
      wire.isWholeBuffer(chunk);
  }

  /** RETURN: credit, and buffers of our own data back, for the pool our next copies come from. */
  #takeBack(data: unknown[]): void {
    const back = wire.readReturn(data);
    if (typeof back === "string") return this.#broken(back);
    for (const buffer of back.buffers) giveBuffer(new Uint8Array(buffer));
    this.#control(back.credit);
  }

  #data(chunk: Uint8Array, lend: boolean): void {
    if (this.#phase === "done") return;
    if (this.#phase !== "attached" && this.#phase !== "peerLeft") return this.#broken("data before hello");
    if (this.#receiving === "ended") return this.#broken("data after the peer's end of stream");
    const n = chunk.byteLength;
    if (n > this.#allowance) {
      return this.#broken(`${n} bytes of data with ${this.#allowance} bytes of credit left`);
    }
    this.#allowance -= n;
    if (this.#receiving === "stopped" || n === 0) return;
    const queued = this.#inbound.writeNow(chunk, lend ? LENT : OWNED);
    // Over the window only for the bytes a closing peer flushes: they are queued all the same.
    if (typeof queued !== "number") queued.catch(noop);
  }

  #control(value: number): void {
    if (wire.isCredit(value)) {
      if (this.#phase === "unattached") return this.#broken("credit before hello");
      this.#credit += value;
      this.#growSendQueue();
      return this.#flush();
    }
    switch (value) {
      case wire.LEND:
      case wire.KEEP:
        if (this.#phase === "unattached") return this.#broken("lend or keep before hello");
        this.#peerMode = value === wire.LEND ? "lend" : "keep";
        return;
      case wire.FIN:
        if (this.#phase === "unattached") return this.#broken("end of stream before hello");
        if (this.#receiving === "ended") return this.#broken("a second end of stream");
        if (this.#receiving === "open") this.#inbound.closeWrite();
        this.#receiving = "ended";
        return this.#maybeLeave();
      case wire.STOP:
      case wire.CLOSE:
        if (this.#phase === "unattached") return this.#broken("stop before hello");
        // Its send queue holds at most its HELLO's window, or, grown, the most credit it had from us.
        if (value === wire.CLOSE) this.#allowance += Math.max(this.#peerWindow, this.#receiveWindow);
        this.#outbound.closeRead(
          new ConnClosedError({
            op: "write",
            addr: this.#addr,
            detail: value === wire.CLOSE ? "closed by peer" : "the peer stopped reading",
          }),
        );
        return this.#endSending();
      case wire.BYE:
        if (this.#phase === "leaving") return this.#finish();
        if (this.#phase !== "attached" || this.#receiving !== "ended") {
          return this.#broken("goodbye before end of stream");
        }
        this.#phase = "peerLeft";
        return this.#maybeLeave();
    }
    this.#broken(`unexpected number ${value}`);
  }

  /** The reader took `n` bytes out: grant them back, a batch at a time. */
  #granted(n: number): void {
    if (this.#receiving !== "open" || this.#phase === "done") return;
    this.#ungranted += n;
    if (this.#ungranted < this.#grantAt) return;
    let grant = this.#ungranted;
    // The reader keeps up: nothing waits to be read. Widen the window (up to
    // its maximum), so that more is in flight while a grant crosses over.
    if (this.#inbound.queued === 0 && this.#receiveWindow < this.#maxWindow) {
      const more = Math.min(this.#receiveWindow, this.#maxWindow - this.#receiveWindow);
      this.#receiveWindow += more;
      this.#grantAt = Math.floor(this.#receiveWindow / 2);
      grant += more;
    }
    this.#allowance += grant;
    const returned = this.#returned;
    if (returned.length === 0) {
      this.#post(grant);
    } else {
      this.#returned = [];
      this.#post(wire.giveBack(grant, returned), returned);
    }
    this.#ungranted = 0;
  }

  /**
   * Lets the send queue hold as much as the peer lets us send at once (up to
   * our own maximum window): a writer running ahead then queues several
   * writes that leave in one post. A peer that does not read never grants
   * more than its first window, so its writer still waits at `bufferSize`.
   */
  #growSendQueue(): void {
    const outbound = this.#outbound;
    if (this.#peerRecycles && this.#credit > outbound.window && outbound.window < this.#maxWindow) {
      outbound.grow(Math.min(this.#credit, this.#maxWindow));
    }
  }

  /** `readable` was cancelled: the peer should stop sending. */
  #stopReading(): void {
    if (this.#receiving !== "open") return;
    this.#receiving = "stopped";
    this.#post(wire.STOP);
    this.#maybeLeave();
  }

  /**
   * Closes: the peer learns at once that this end reads no more; what is
   * queued goes out (up to this end's window beyond credit), then FIN, as
   * the queues close.
   */
  override close(): void {
    if (this.#phase !== "done") {
      if (this.#sending === "open") {
        this.#sending = "closing";
        this.#flushAllowance = this.#outbound.window;
        this.#post(wire.CLOSE);
      } else if (this.#receiving === "open") {
        this.#post(wire.STOP);
      }
      if (this.#receiving === "open") this.#receiving = "stopped";
    }
    // Closing the outbound queue's writing end flushes it, the end of stream included.
    super.close();
    this.#maybeLeave();
  }

  /**
   * Sends what the queue holds and the budget allows, now: called when a
   * writer queued bytes (from inside its `write`), when credit comes, and
   * when either side closes. A writer running ahead (small writes after a
   * post of ours, nothing heard from the peer since) is first given a few
   * microtask turns to queue more, so that its writes leave in one post.
   */
  #flush(gathered = false): void {
    if (this.#phase === "done" || this.#sending === "finished" || this.#batch === "gathering") return;
    const queued = this.#outbound.queued;
    if (this.#sending === "open") {
      if (this.#credit === 0) return; // the peer's next grant flushes
      if (!gathered && queued > 0 && this.#postedAt === this.#heard) {
        // Small writes gather up to GATHER.enough; big ones, while the send queue
        // has room, up to half of it (and the credit): a post costs per message.
        const enough = queued < GATHER.enough
          ? GATHER.enough
          : Math.min(this.#credit, Math.floor(this.#outbound.window / 2));
        if (queued < enough) {
          this.#gather(enough);
          return;
        }
      }
    }
    this.#send();
  }

  /** Waits while the writer keeps adding to the queue (up to `enough`), a microtask turn at a time, then sends. */
  async #gather(enough: number): Promise<void> {
    this.#batch = "gathering";
    await gather(() => this.#outbound.queued, enough === GATHER.enough ? GATHER : { ...GATHER, enough });
    this.#batch = "idle";
    this.#flush(true);
  }

  /** Posts queued chunks, several to a post, while the budget lasts; FIN at the end of the stream. */
  #send(): void {
    const outbound = this.#outbound;
    try {
      while (true) {
        const budget = this.#credit + (this.#sending === "closing" ? this.#flushAllowance : 0);
        if (budget === 0) {
          if (this.#sending === "open") return; // the peer's next grant sends the rest
          // Closing, and the flush allowance is spent: what is left is dropped.
          outbound.closeRead(this.#closedError());
          break;
        }
        const chunks: Uint8Array[] = [];
        let size = 0, end = false;
        while (chunks.length < MAX_CHUNKS && size < budget) {
          const chunk = outbound.readChunkNow(budget - size);
          if (chunk === undefined) break;
          if (chunk === null) {
            end = true;
            break;
          }
          chunks.push(chunk);
          size += chunk.byteLength;
        }
        if (chunks.length > 0) this.#postData(chunks, size);
        if (end) break;
        if (chunks.length < MAX_CHUNKS && size < budget) return; // all sent; the next write flushes
      }
    } catch {
      // The outbound queue was closed for reading: the peer stopped reading, or is gone.
    }
    this.#endSending();
  }

  /** No more data from this end: FIN, once. */
  #endSending(): void {
    if (this.#phase === "done" || this.#sending === "finished") return;
    this.#sending = "finished";
    this.#post(wire.FIN);
    this.#maybeLeave();
  }

  #postData(chunks: Uint8Array[], size: number): void {
    if (this.#phase === "done") return;
    const transfer: ArrayBuffer[] = [];
    let mode = this.#sendMode;
    for (let i = 0; i < chunks.length; i++) {
      let chunk = chunks[i];
      // Posting a view clones all of its buffer: cut it out first.
      if (!wire.isWholeBuffer(chunk)) chunk = chunks[i] = chunk.slice();
      if (chunk.byteLength < TRANSFER_FROM) continue;
      transfer.push(chunk.buffer as ArrayBuffer);
      // Our pool's copies are worth having back; a writer's own chunks (to `writable`) are not.
      const lend = this.#peerRecycles && fromPool(chunk);
      if (transfer.length === 1) mode = lend ? "lend" : "keep";
      else if (!lend) mode = "keep";
    }
    if (mode !== this.#sendMode) {
      this.#sendMode = mode;
      this.#post(mode === "lend" ? wire.LEND : wire.KEEP);
    }
    const fromCredit = Math.min(size, this.#credit);
    this.#credit -= fromCredit;
    this.#flushAllowance -= size - fromCredit;
    this.#postedAt = this.#heard;
    try {
      this.#post(chunks.length === 1 ? chunks[0] : chunks, transfer);
    } catch (err) {
      // A chunk whose buffer was transferred elsewhere after it was written, say.
      this.#post(wire.abort("this end could not post its data"));
      this.#gone("the data could not be posted", err);
      throw err; // ends #send
    }
  }

  /** Both directions are finished: say goodbye (or, if the peer already did, finish). */
  #maybeLeave(): void {
    if (this.#sending !== "finished") return;
    if (this.#phase === "unattached") {
      // Done before the peer ever attached, and reading no more: say all, and
      // leave without waiting for it; it reads everything when it attaches.
      if (this.#receiving !== "stopped") return;
      this.#post(wire.BYE);
      return this.#finish(true);
    }
    if (this.#receiving !== "ended") return;
    if (this.#phase === "attached") {
      this.#post(wire.BYE);
      this.#phase = "leaving";
    } else if (this.#phase === "peerLeft") {
      this.#finish();
    }
  }

  /** The peer's isolate or port is gone, or it gave up: end the conn where it stands. */
  #gone(detail: string, cause?: unknown): void {
    const phase = this.#phase;
    if (phase === "done") return;
    // Past the exchange of FINs there is nothing left to lose.
    if (phase === "leaving") return this.#finish();
    const addr = this.#addr;
    if (this.#receiving === "open") {
      const error = new ConnClosedError({ op: "read", addr, detail, cause });
      this.#inbound.abortWrite(new ConnClosedError({ op: "read", addr, detail, cause }), error);
      this.#receiving = "ended";
    }
    this.#outbound.closeRead(new ConnClosedError({ op: "write", addr, detail, cause }));
    this.#finish();
  }

  /** The peer broke the protocol: tell it, and end the conn with a `ProtocolError`. */
  #broken(detail: string): void {
    if (this.#phase === "done") return;
    this.#post(wire.abort(detail));
    const error = new ProtocolError({ op: "receive", addr: this.#addr, detail });
    if (this.#receiving !== "stopped") {
      // Even after the peer's FIN: a reader that has not reached EOF yet gets the error.
      this.#inbound.abortWrite(new ConnClosedError({ op: "read", addr: this.#addr, cause: error }), error);
      this.#receiving = "ended";
    }
    this.#gone("closed after the peer broke the protocol", error);
  }

  #closedError(): ConnClosedError {
    return new ConnClosedError({ op: "write", addr: this.#addr, detail: "the conn was closed" });
  }

  /**
   * Closes the port (after anything still waiting for our HELLO) and stops
   * watching the peer. With `linger`, for an end that leaves before its peer
   * attached, the port stays open until the peer's first message or `close`
   * event: Deno, once its Node compatibility is loaded (any npm import does
   * it), drops what was posted on a port closed before its other end started
   * listening.
   */
  #finish(linger = false): void {
    if (this.#phase === "done") return;
    this.#phase = "done";
    this.#returned = [];
    const port = this.#port;
    const close = () => {
      port.onmessage = null;
      port.onmessageerror = null;
      port.close();
    };
    const settle = () => {
      if (linger) {
        port.onmessage = close;
        port.onmessageerror = close;
        port.addEventListener("close", close);
      } else {
        close();
      }
      this.#unwatch().then(() => this.#done.resolve());
    };
    if (this.#outbox !== null) this.#outbox.push(settle);
    else settle();
  }
}
