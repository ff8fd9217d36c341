/**
 * The reading direction of a kernel socket as a {@linkcode ByteQueue}.
 *
 * Deno's `read` can't be aborted, so a caller with a signal never reads
 * natively: it waits on the queue, and a pump keeps at most one native read
 * outstanding on behalf of the waiting callers, handing its bytes to the
 * queue. An aborted read thus consumes nothing; the bytes go to the next
 * reader. A read without a signal, when nobody else is waiting and nothing is
 * queued, reads natively straight into the caller's buffer: it can't be
 * aborted anyway, and it saves a copy.
 *
 * Once the reader stops for good ({@linkcode SocketInbound.discard}, when
 * `readable` is cancelled), the pump goes on reading and drops what it
 * reads, so the peer's writes still complete: a socket has no way to tell
 * its peer "stop sending" short of closing. Internal to the socket
 * transports.
 *
 * @module
 */

import type { CallOptions } from "../conn.ts";
import { ByteQueue, type ReadChunkOptions } from "../byte_queue.ts";
import { ConnClosedError } from "../errors.ts";
import { noop } from "../_async/waiter.ts";
import type { LazyError } from "../_lazy.ts";

/** The native side: `Deno.Conn`'s `read`. */
export interface NativeSource {
  read(p: Uint8Array): Promise<number | null>;
}

/** The most a pump read asks for at once. */
const PUMP_MAX = 64 * 1024;
/**
 * The least. A pump read asks for about twice what the last ones got, so
 * a conn that goes quiet after small messages waits with a small buffer,
 * and one that streams reads in 64 KiB.
 */
const PUMP_MIN = 2 * 1024;
/** Pump reads in a row that must come back short before the buffer shrinks. */
const SHORT_READS_TO_SHRINK = 3;

/**
 * What the queue's writing end says to a write after EOF. Only the pump
 * writes, and never then, so one error serves every conn (making one per
 * conn at EOF would cost more than the rest of the EOF).
 */
let afterEof: ConnClosedError | undefined;

/** A {@linkcode ByteQueue} filled from a native socket on demand. */
export class SocketInbound extends ByteQueue {
  #source: NativeSource;
  #mapError: (err: unknown) => Error;
  /**
   * `open`: the socket is read for waiting readers; `discarding`: readers
   * are gone for good, but the socket is still drained; `ended`: EOF was
   * read, the socket failed, or the reading end was closed.
   */
  #state: "open" | "discarding" | "ended" = "open";
  /** A native read is outstanding (the one I/O slot, in any state). */
  #reading = false;
  /** Queue reads that found the queue empty and have not settled yet. */
  #waiting = 0;
  /** Nothing more is read from the socket: EOF, failure, or close. */
  #socketDone = false;
  /** Readers are done: they took the end, or the reading end was closed. */
  #readersDone = false;
  #onDone: (() => void) | null;
  /** Closed while nobody read: the error later reads get, made when the first comes. */
  #closedQuietly: LazyError | null = null;
  #scratch: Uint8Array | null = null;
  /** What the last pump read got. */
  #lastGot = 0;
  /** How many pump reads in a row got under an eighth of the buffer. */
  #shortReads = 0;

  /**
   * Reads from `source`; `mapError` turns its errors into the contract's;
   * `onDone` runs once readers are done and so is the socket (a discarding
   * reading end is done only once the socket is drained to its end, so that
   * closing the socket meanwhile doesn't reset what the peer sends).
   */
  constructor(source: NativeSource, window: number, mapError: (err: unknown) => Error, onDone: () => void) {
    super({ window });
    this.#source = source;
    this.#mapError = mapError;
    this.#onDone = onDone;
  }

  /** Reads into `p`: natively when nothing can come before it, else from the queue. */
  override read(p: Uint8Array, options?: CallOptions): Promise<number | null> {
    if (this.#closedQuietly !== null) this.#closeNow();
    if (p.byteLength > 0 && this.#canReadDirect(options)) {
      return this.#readDirect(p, (n) => n, () => super.read(p));
    }
    return this.#demand(this.queued === 0, super.read(p, options));
  }

  /** Takes the next chunk, pumping one from the socket if none is queued. */
  override readChunk(options?: ReadChunkOptions): Promise<Uint8Array | null> {
    if (this.#closedQuietly !== null) this.#closeNow();
    return this.#demand(this.queued === 0, super.readChunk(options));
  }

  /** Takes a queued chunk now, if there is one (see {@linkcode ByteQueue.readChunkNow}). */
  override readChunkNow(max?: number): Uint8Array | null | undefined {
    if (this.#closedQuietly !== null) this.#closeNow();
    return super.readChunkNow(max);
  }

  /** Closes the reading end; the outstanding native read, if any, is ignored. */
  override closeRead(readError: Error, writeError: Error = readError): void {
    this.#state = "ended";
    super.closeRead(readError, writeError);
    this.#done({ socket: true, readers: true });
  }

  /**
   * Closes the reading end as {@linkcode SocketInbound.closeRead} does, but
   * makes the error only when a read sees it: readers waiting now get it at
   * once, later ones when they come.
   */
  close(readError: LazyError): void {
    this.#state = "ended";
    if (this.#waiting > 0) {
      super.closeRead(readError());
    } else {
      this.#closedQuietly = readError;
    }
    this.#done({ socket: true, readers: true });
  }

  /**
   * Closes the reading end for readers (they get `readError`) but keeps
   * reading the socket to its end, dropping the bytes, so that the peer's
   * writes don't wait for a reader that will never come.
   */
  discard(readError: Error): void {
    if (this.#state !== "open") return;
    this.#state = "discarding";
    super.closeRead(readError);
    this.#done({ readers: true });
    this.#pump();
  }

  #closeNow(): void {
    const readError = this.#closedQuietly!;
    this.#closedQuietly = null;
    super.closeRead(readError());
  }

  /** Records what is done; reports once both readers and the socket are. */
  #done(done: { socket?: boolean; readers?: boolean }): void {
    if (done.socket) this.#socketDone = true;
    if (done.readers) this.#readersDone = true;
    if (!this.#socketDone || !this.#readersDone || this.#onDone === null) return;
    const onDone = this.#onDone;
    this.#onDone = null;
    onDone();
  }

  /** Whether a read may go straight to the socket: it can't be aborted and nothing comes before it. */
  #canReadDirect(options: CallOptions | undefined): boolean {
    return options?.signal === undefined && this.#state === "open" && !this.#reading && this.#waiting === 0 &&
      this.queued === 0;
  }

  /** One native read into `into`; EOF and errors go through the queue, so it records them. */
  #readDirect<T>(into: Uint8Array, got: (n: number) => T, viaQueue: () => Promise<T>): Promise<T> {
    this.#reading = true;
    return this.#source.read(into).then((n) => {
      this.#reading = false;
      if (n === null) {
        this.#end();
        return this.#viaQueue(viaQueue); // EOF, marking the reading end done
      }
      this.#pump();
      return got(n);
    }, (err) => {
      this.#reading = false;
      this.#fail(err);
      return this.#viaQueue(viaQueue); // rejects with the read error, or the close's
    });
  }

  #viaQueue<T>(viaQueue: () => Promise<T>): Promise<T> {
    if (this.#closedQuietly !== null) this.#closeNow();
    return viaQueue();
  }

  /**
   * The pump's buffer, fit to what the last pump reads got: grown to twice
   * the last read when that filled it, shrunk once three reads in a row got
   * under an eighth of it (a conn gone quiet: one short read while streaming
   * is the reader catching up). A steady stream reads into one buffer.
   */
  #scratchBuffer(): Uint8Array {
    const max = Math.min(this.window, PUMP_MAX);
    const wanted = Math.min(max, Math.max(PUMP_MIN, 2 ** Math.ceil(Math.log2(2 * this.#lastGot))));
    const scratch = this.#scratch;
    if (scratch !== null && scratch.byteLength >= wanted && this.#shortReads < SHORT_READS_TO_SHRINK) {
      return scratch;
    }
    this.#shortReads = 0;
    return this.#scratch = new Uint8Array(wanted);
  }

  /** Records what a pump read into `buf` got. */
  #got(n: number, buf: Uint8Array): void {
    this.#lastGot = n;
    this.#shortReads = n * 8 < buf.byteLength && buf.byteLength > PUMP_MIN ? this.#shortReads + 1 : 0;
  }

  /** Counts a read that may wait, and pumps for it. */
  #demand<T>(empty: boolean, result: Promise<T>): Promise<T> {
    if (!empty) return result;
    this.#waiting++;
    const settled = () => {
      this.#waiting--;
    };
    result.then(settled, settled);
    this.#pump();
    return result;
  }

  /**
   * Keeps one native read outstanding while reads wait on an empty queue,
   * or, once discarding, until the socket ends.
   */
  #pump(): void {
    if (this.#reading || this.#state === "ended" || (this.#state === "open" && this.#waiting === 0)) return;
    this.#reading = true;
    const buf = this.#scratchBuffer();
    this.#source.read(buf).then(async (n) => {
      if (n === null) {
        this.#reading = false;
        return this.#end();
      }
      this.#got(n, buf);
      // Copies what it keeps, so the scratch buffer is free once it resolves;
      // it waits while the window is full. The write fails once the reading
      // end is closed; a discarding pump reads on regardless.
      if (this.#state === "open") await this.write(buf.subarray(0, n)).catch(noop);
      this.#reading = false;
      this.#pump();
    }, (err) => {
      this.#reading = false;
      this.#fail(err);
    });
  }

  #end(): void {
    if (this.#state === "ended") return this.#done({ socket: true });
    const discarding = this.#state === "discarding";
    this.#state = "ended";
    this.closeWrite(afterEof ??= new ConnClosedError({ op: "write", detail: "the socket reached its end" }));
    if (discarding) return this.#done({ socket: true });
    this.#done({ socket: true });
    this.#whenReadersDone();
  }

  /** The socket broke: readers get what is queued, then the error. */
  #fail(err: unknown): void {
    if (this.#state === "ended") return this.#done({ socket: true }); // closed on purpose: the error is the cancellation
    const discarding = this.#state === "discarding";
    this.#state = "ended";
    const error = this.#mapError(err);
    this.abortWrite(error, error);
    this.#done({ socket: true });
    if (!discarding) this.#whenReadersDone();
  }

  /** Readers take the end (or the error) in their own time. */
  #whenReadersDone(): void {
    super.readDone.then(() => this.#done({ readers: true }));
  }
}
