/**
 * The session's receiving side: reads frames, has the session judge each
 * header, and delivers Data payloads where it says. Private to `mux/`.
 *
 * The frames that are there are handled in one synchronous sweep, with no
 * promise per frame. What starts a sweep depends on the conn:
 * - a `QueueConn` (a memory pipe, `secure()`, another session's stream): the
 *   session is its inbound queue's sink, offered each write's bytes in the
 *   peer's call while nothing is queued, and the sweep runs right there, on
 *   the writer's own bytes: the frame is never queued, a header is decoded
 *   where it is, a payload goes from the peer's buffer straight into the
 *   stream reader's, and a small frame reaches its reader without a promise
 *   hop. What it leaves (it waits for a reader's turn, or for control room)
 *   is queued, and the queue's `onWrite` hook starts the sweeps for bytes
 *   queued so;
 * - any other conn: a loop that awaits `read()`.
 *
 * @module
 */

import type { Conn } from "../conn.ts";
import type { ByteQueue } from "../byte_queue.ts";
import { queuesOf } from "../_queue_access.ts";
import { waiter } from "../_async/waiter.ts";
import type { Header } from "./const.ts";
import { FrameReader } from "./_reader.ts";

/** Where a Data frame's payload goes: a stream, as the receiver sees it. */
export interface PayloadSink {
  /** Hands up to `max` bytes from `source` to a waiting reader; how many it took (see `ByteQueue.fillReader`). */
  deliverFrom(max: number, source: (into: Uint8Array) => number): number;
  /** A piece of the payload, in the receiver's buffer: the sink copies what it keeps. */
  deliver(piece: Uint8Array): void;
  /**
   * Whether no read waits on it now, but its reader took everything that
   * came: one that keeps up, likely to read again within a turn or two.
   */
  readonly readerDue: boolean;
  /** The frame's flags, handled once its payload is all delivered. */
  flags(flags: number): void;
}

/** A payload to read: where it goes (`null`: read and dropped), its length, the frame's flags. */
export interface Payload {
  sink: PayloadSink | null;
  length: number;
  flags: number;
}

/** Room for control frames, in the session's writer (see `FrameWriter.controlRoom`). */
export interface ControlRoom {
  /** Whether too many control frames are queued: a frame read now might have to queue one more. */
  readonly controlFull: boolean;
  /** `undefined` while there is room, else a promise that resolves once there is. */
  controlRoom(): Promise<void> | undefined;
}

/** What the receiver needs from its session. */
export interface ReceiveHost {
  /**
   * Handles a frame's header; if a payload follows, says where it goes in
   * `payload` (the receiver's own, reused) and returns `true`. Throws a
   * `ProtocolError` for input the session can't trust.
   */
  frame(header: Header, payload: Payload): boolean;
  /** Whether the session is over: nothing more is handled. */
  readonly over: boolean;
  /** The session's writer, which must have room for the answers frames need (pings, resets). */
  readonly writer: ControlRoom;
  /** Reading ended: `null` at EOF between frames, else why (a `ProtocolError`, the conn's error). */
  ended(error: unknown): void;
}

/**
 * What a sweep stopped for: more bytes, control room, the end, or a turn
 * for a stream's reader that keeps up to read again (see `#deliver`).
 */
type Wait = "bytes" | "room" | "over" | "turn";

/**
 * How many microtask turns a sweep waits, at most, for the reader of a
 * stream with nothing unread to read again, before queueing a payload for it.
 */
const READER_TURNS = 2;
/** Over a queue, payloads up to this size wait for a turn (see `#deliver`). */
const TURN_IN_QUEUE_UP_TO = 1024;

/**
 * How many sessions are in a sweep, in this isolate. A queue calls its
 * listener from inside the writer's call; should that writer be a session's
 * that is half-way through a sweep or a frame (a header written, its payload
 * not yet), a sweep now could interleave frames. So a sweep starts only
 * when no other is under way, and waits for a microtask otherwise.
 */
let sweeping = 0;

/** For a microtask turn: a resolved promise's `then` costs half of Deno's `queueMicrotask`, whose argument it checks. */
const RESOLVED = Promise.resolve();

/** Reads one session's frames. */
export class Receiver {
  /** Settles once nothing more is read. */
  readonly done: Promise<void>;
  readonly #host: ReceiveHost;
  readonly #control: ControlRoom;
  readonly #reader: FrameReader;
  /** The conn's inbound queue, which calls on writes, or `null` for a conn read in a loop. */
  readonly #queue: ByteQueue | null;
  /** The payload of the frame being read, while `#inPayload`; one object, reused. */
  readonly #payload: Payload = { sink: null, length: 0, flags: 0 };
  #inPayload = false;
  /** Turns waited for a stream's reader to read again. */
  #turns = 0;
  /** `listening` for the queue; `deferred` while a sweep waits for a microtask or for control room; `stopped`. */
  #state: "listening" | "deferred" | "stopped" = "listening";
  // Not Promise.withResolvers: Node 20 lacks it, and the mux runs there.
  readonly #stopped = waiter<void>();

  /** Starts reading `conn`, whose peer `addr` names in errors, for `host`. */
  constructor(conn: Conn, addr: string, host: ReceiveHost) {
    this.#host = host;
    this.#control = host.writer;
    this.#reader = new FrameReader(conn, addr);
    this.#queue = queuesOf(conn)?.inbound ?? null;
    if (this.#queue !== null) {
      this.#queue.setOnWrite(this.#onReadable);
      this.#queue.setSink(this.#sink);
      // The hook says nothing of a reading end closed under the session (its
      // `readable` cancelled, say): the next sweep's read throws then.
      this.#queue.readDone.then(this.#onReadable);
      // Bytes (or EOF) may be queued already; the session is made first.
      this.#defer();
      this.done = this.#stopped.promise;
    } else {
      this.done = this.#loop();
    }
  }

  /** Stops reading (the session ended). */
  stop(): void {
    if (this.#state === "stopped") return;
    this.#state = "stopped";
    this.#queue?.setOnWrite(null);
    this.#queue?.setSink(null);
    this.#stopped.resolve();
  }

  readonly #onReadable = (): void => {
    if (this.#state !== "listening") return;
    if (sweeping > 0) return this.#defer();
    this.#run();
  };

  /**
   * The queue offers a write's bytes, nothing being queued: a sweep over
   * them, in the writer's call; returns how many it took. None while a
   * sweep waits (for a turn, for control room) or another is under way:
   * the queue keeps them, and `#onReadable` hears of them.
   */
  readonly #sink = (bytes: Uint8Array): number => {
    if (this.#state !== "listening" || sweeping > 0) return 0;
    const reader = this.#reader;
    reader.offer(bytes);
    const wait = this.#run();
    return reader.endOffer(wait === "turn");
  };

  #defer(): void {
    this.#state = "deferred";
    RESOLVED.then(this.#resume);
  }

  readonly #resume = (): void => {
    if (this.#state !== "deferred") return;
    this.#state = "listening";
    this.#run();
  };

  /** A sweep for the queue, then waiting for it (or for room) again. */
  #run(): Wait {
    const wait = this.#guardedSweep();
    if (wait === "over") this.stop();
    else if (wait === "turn") this.#defer();
    else if (wait === "room") {
      this.#state = "deferred";
      this.#control.controlRoom()!.then(this.#resume);
    }
    return wait;
  }

  /** The loop for a conn without queues. */
  async #loop(): Promise<void> {
    for (;;) {
      const wait = this.#guardedSweep();
      if (wait === "over") return;
      try {
        if (wait === "turn") await undefined;
        else await (wait === "room" ? this.#control.controlRoom() : this.#reader.more());
      } catch (err) {
        if (!this.#host.over) this.#host.ended(err);
        return;
      }
    }
  }

  #guardedSweep(): Wait {
    sweeping++;
    try {
      return this.#sweep();
    } catch (err) {
      if (!this.#host.over) this.#host.ended(err);
      return "over";
    } finally {
      sweeping--;
    }
  }

  /** Handles every frame that is there; returns what it stopped for. */
  #sweep(): Wait {
    const reader = this.#reader;
    const host = this.#host;
    for (;;) {
      // The session stops its receiver the moment it ends: no need to ask it.
      if (this.#state === "stopped") return "over";
      if (this.#inPayload) {
        const payload = this.#payload;
        payload.length = this.#deliver(payload.sink, payload.length);
        if (payload.length > 0) {
          // At EOF with nothing left to read, the payload is cut short: no turn can bring the rest (waiting
          // for one anyway spun the session in microtask turns, starving the event loop).
          if (reader.eof && !reader.ready) {
            throw reader.truncated(`${payload.length} payload bytes were still to come`);
          }
          if (this.#turns > 0) return "turn";
          return "bytes";
        }
        this.#inPayload = false;
        const sink = payload.sink;
        payload.sink = null;
        sink?.flags(payload.flags);
        continue;
      }
      if (this.#control.controlFull) return "room";
      const header = reader.headerNow();
      if (header === undefined) {
        if (!reader.eof) return "bytes";
        reader.checkEnd();
        host.ended(null);
        return "over";
      }
      this.#inPayload = host.frame(header, this.#payload);
    }
  }

  /**
   * Hands on as much of a payload as can be had now, returning how much is
   * still to come: straight into the stream reader's buffer when one waits
   * (from the conn's queue, one copy from the sender's bytes; else from the
   * read buffer), else through the read buffer into the stream's queue.
   */
  #deliver(sink: PayloadSink | null, left: number): number {
    const reader = this.#reader;
    while (left > 0 && reader.ready) {
      let n = sink !== null ? sink.deliverFrom(left, this.#readInto) : 0;
      if (n === 0) {
        // A reader that keeps up most likely reads again within a turn or
        // two: waiting for it saves copying the payload into the stream's
        // queue and out again, and a promise for the read that finds it.
        // Over a queue, only for a small payload: a big one left in the
        // conn's queue fills its window and holds up the peer's writer.
        if (
          sink !== null && this.#turns < READER_TURNS &&
          (this.#queue === null || left <= TURN_IN_QUEUE_UP_TO) &&
          sink.readerDue
        ) {
          this.#turns++;
          break;
        }
        const piece = reader.pieceNow(left);
        if (piece === undefined) break;
        sink?.deliver(piece);
        n = piece.byteLength;
      }
      this.#turns = 0;
      left -= n;
    }
    return left;
  }

  readonly #readInto = (into: Uint8Array): number => this.#reader.readInto(into);
}
