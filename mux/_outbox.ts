/**
 * Where the session's writer puts the bytes of its own (frames, headers,
 * payloads it copies) on their way to the conn, one way per kind of conn.
 * Private to `mux/`.
 *
 * - {@linkcode QueueOutbox}, over a `QueueConn`: bytes go to the conn's
 *   outbound queue the moment they are committed, and a big payload goes
 *   as the caller's own bytes ({@linkcode QueueOutbox.direct}), which the
 *   peer's session then copies straight into its reader's buffer.
 * - {@linkcode ConnOutbox}, over any other conn (a socket): what is
 *   committed while a write is under way is gathered into a second buffer
 *   and written in one call when it ends: a system call costs more than the
 *   copy, and several 64 KiB frames in one write cost less than as many writes.
 *   Its buffers come from the package's pool while it is busy and go back
 *   when it is idle: an idle session over a socket holds none of them.
 *
 * @module
 */

import type { Conn } from "../conn.ts";
import type { ByteQueue } from "../byte_queue.ts";
import { giveBuffer, takeBuffer } from "../_copy_buffers.ts";
import { HEADER_SIZE } from "./const.ts";

/** What an outbox tells its writer. */
export interface OutboxEvents {
  /** Room was freed, or the outbox went idle: the writer may go on. */
  onRoom(): void;
  /** Writing to the conn failed; returns what a caller whose bytes were lost is told. */
  onError(err: unknown): Error;
}

/** The writer's way to the conn. */
export interface Outbox {
  /** The buffer to write into: {@linkcode Outbox.room} bytes from {@linkcode Outbox.at} are free. */
  readonly buffer: Uint8Array;
  /** Where the free bytes of `buffer` start. */
  readonly at: number;
  /** How many bytes are free from `at`. */
  readonly room: number;
  /** Whether nothing is on its way: all committed bytes (and direct writes) were written. */
  readonly idle: boolean;
  /** The bytes from `at` to `end` were written into `buffer` and go to the conn (now or after what is under way). */
  commit(end: number): void;
  /**
   * Writes `bytes` themselves after what was committed, if this outbox can
   * (a number when done at once; else a promise that settles once the conn
   * let go of them); `undefined` if it copies everything instead.
   */
  direct(bytes: Uint8Array): number | Promise<number> | undefined;
}

/**
 * The arena of a {@linkcode QueueOutbox}: headers, small frames and the
 * batches of writes that waited. Its own for the session's life: most
 * commits are done in the same call, and taking it from the pool and giving
 * it back around each one cost more than keeping it.
 */
const ARENA_SIZE = 16 * 1024;
/**
 * Each buffer of a {@linkcode ConnOutbox}: seven 64 KiB frames and their
 * headers fit. Measured over a Unix socket: 64 KiB writes gathered into
 * 512 KiB ran at 0.80x the raw socket's speed, into 256 KiB at 0.72x.
 */
const GATHER_SIZE = 512 * 1024;
/** Frames up to this size at the arena's start go to the queue as a view made once. */
const SMALL_FRAME = HEADER_SIZE + 64;

/**
 * Over a `QueueConn`. The buffer is an arena: each commit takes the next
 * bytes from `at` on and hands them to the queue at once; taken at once,
 * they are free again, while a region the queue holds (its peer has not
 * read it yet) stays put until it lets go. So frames written while the queue
 * holds earlier bytes cost no allocation.
 */
export class QueueOutbox implements Outbox {
  readonly #queue: ByteQueue;
  readonly #events: OutboxEvents;
  readonly #buffer = new Uint8Array(ARENA_SIZE);
  /** Views of the arena's first bytes, by length, each made once: most commits are a small frame there. */
  readonly #heads: Uint8Array[] = [];
  #used = 0;
  /** Arena regions the queue holds. */
  #held = 0;
  /** Direct writes the queue holds. */
  #direct = 0;

  /** Writes to `queue`, the outbound queue of the conn. */
  constructor(queue: ByteQueue, events: OutboxEvents) {
    this.#queue = queue;
    this.#events = events;
  }

  /** The arena. */
  get buffer(): Uint8Array {
    return this.#buffer;
  }

  /** Where the arena's free bytes start. */
  get at(): number {
    return this.#used;
  }

  /** The arena's free bytes. */
  get room(): number {
    return ARENA_SIZE - this.#used;
  }

  /** Whether the queue holds nothing of ours. */
  get idle(): boolean {
    return this.#held === 0 && this.#direct === 0;
  }

  /** Hands `buffer[at..end)` to the queue. */
  commit(end: number): void {
    const start = this.#used;
    this.#used = end;
    const bytes = start === 0 && end <= SMALL_FRAME
      ? this.#smallView(end)
      : this.#buffer.subarray(start, end);
    const written = this.#queue.writeNow(bytes);
    if (typeof written !== "number") {
      this.#held++;
      written.then(this.#released, this.#failed);
    } else if (this.#used === end) {
      this.#used = start;
    }
  }

  #smallView(end: number): Uint8Array {
    return this.#heads[end] ??= this.#buffer.subarray(0, end);
  }

  /** Writes `bytes` to the queue as they are; the queue copies or holds them as its contract says. */
  direct(bytes: Uint8Array): number | Promise<number> {
    const written = this.#queue.writeNow(bytes);
    if (typeof written === "number") return written;
    this.#direct++;
    return written.then(this.#directDone, this.#directFailed);
  }

  readonly #released = (): void => {
    if (--this.#held === 0) this.#used = 0;
    this.#events.onRoom();
  };

  readonly #failed = (err: unknown): void => {
    this.#held--;
    this.#events.onError(err);
  };

  readonly #directDone = (n: number): number => {
    this.#direct--;
    if (this.idle) this.#events.onRoom();
    return n;
  };

  readonly #directFailed = (err: unknown): never => {
    this.#direct--;
    throw this.#events.onError(err);
  };
}

/**
 * Over any other conn, written with `write()`: the first commit is written
 * at once; what is committed while that write is under way is gathered in
 * a second buffer, written in one call when it ends.
 */
export class ConnOutbox implements Outbox {
  readonly #conn: Conn;
  readonly #events: OutboxEvents;
  /** The buffer commits go into, from the pool once needed. */
  #gather: Uint8Array | null = null;
  #used = 0;
  /** The buffer being written, or `null`. */
  #flying: Uint8Array | null = null;

  /** Writes to `conn`. */
  constructor(conn: Conn, events: OutboxEvents) {
    this.#conn = conn;
    this.#events = events;
  }

  /** The buffer being gathered. */
  get buffer(): Uint8Array {
    return this.#gather ??= takeBuffer(GATHER_SIZE);
  }

  /** Where its free bytes start. */
  get at(): number {
    return this.#used;
  }

  /** Its free bytes. */
  get room(): number {
    return GATHER_SIZE - this.#used;
  }

  /** Whether nothing is gathered or being written. */
  get idle(): boolean {
    return this.#flying === null && this.#used === 0;
  }

  /** The bytes up to `end` are gathered; written now, unless a write is under way. */
  commit(end: number): void {
    this.#used = end;
    if (this.#flying === null) this.#flush();
  }

  /** Copies everything: a write costs a call of its own. */
  direct(): undefined {
    return undefined;
  }

  #flush(): void {
    const buffer = this.#gather!;
    const length = this.#used;
    this.#flying = buffer;
    this.#gather = null;
    this.#used = 0;
    this.#conn.write(buffer.subarray(0, length)).then(this.#flown, this.#failed);
  }

  readonly #flown = (): void => {
    const done = this.#flying!;
    this.#flying = null;
    if (this.#used > 0) {
      this.#flush();
      this.#gather = done;
    } else {
      giveBuffer(done);
      if (this.#gather !== null) {
        giveBuffer(this.#gather);
        this.#gather = null;
      }
    }
    this.#events.onRoom();
  };

  readonly #failed = (err: unknown): void => {
    this.#flying = null;
    this.#used = 0;
    this.#events.onError(err);
  };
}
