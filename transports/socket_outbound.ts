/**
 * The writing direction of a kernel socket: writes served one at a time in
 * call order, each written to its end before the next starts, so bytes of
 * two writes never interleave.
 *
 * Deno's `write` can't be aborted and may use the buffer until it settles.
 * A write without a signal is written straight from the caller's buffer,
 * which it holds until it resolves anyway. A write with a signal is written
 * from a copy: when the signal aborts, the call rejects at once and leaves the
 * caller's buffer alone, while the native write already under way finishes
 * from the copy (the peer sees a prefix, never a gap) and later writes wait
 * for it. Internal to the socket transports.
 *
 * @module
 */

import { badSignal, type CallOptions, noop, watch } from "../conn.ts";

/** The native side: `Deno.Conn`'s `write` and `closeWrite`. */
export interface NativeSink {
  write(p: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
}

interface PendingWrite {
  bytes: Uint8Array;
  /** The caller's promise. */
  promise: Promise<number>;
  resolve(n: number): void;
  reject(reason: unknown): void;
  /** Detaches the abort listener. */
  settled(): void;
  /** The native write has begun; an abort can only stop what follows. */
  started: boolean;
  /** The caller was answered already (aborted); write nothing more of it. */
  abandoned: boolean;
}

/** Serialized native writes with abortable callers, half-close and close. */
export class SocketOutbound {
  #sink: NativeSink;
  #mapError: (err: unknown) => Error;
  #writes: PendingWrite[] = [];
  #busy = false;
  /** Set once no more writes are taken: closeWrite, close or a failure. */
  #error: Error | null = null;
  #shutDown = false;
  #done = Promise.withResolvers<void>();
  /** The write whose native write is under way. */
  #current: PendingWrite | null = null;
  /** What closeWrite() returns, once called. */
  #flushed: Promise<void> | null = null;

  /** Writes to `sink`; `mapError` turns its errors into the contract's. */
  constructor(sink: NativeSink, mapError: (err: unknown) => Error) {
    this.#sink = sink;
    this.#mapError = mapError;
  }

  /** Resolves once the writing end is closed and its last write settled. */
  get writeDone(): Promise<void> {
    return this.#done.promise;
  }

  /** Writes all of `p` after the writes before it; resolves with its length. */
  write(p: Uint8Array, options?: CallOptions): Promise<number> {
    const bad = badSignal(options);
    if (bad) return Promise.reject(bad);
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#error) return Promise.reject(this.#error);
    if (p.byteLength === 0) return Promise.resolve(0);
    const { promise, resolve, reject } = Promise.withResolvers<number>();
    const write: PendingWrite = {
      bytes: signal === undefined ? p : p.slice(),
      promise,
      resolve,
      reject,
      settled: noop,
      started: false,
      abandoned: false,
    };
    write.settled = watch(signal, () => this.#abandon(write, signal!.reason));
    this.#writes.push(write);
    if (!this.#busy) this.#drain();
    return promise;
  }

  /**
   * No more writes: once the pending ones are written, the peer gets EOF.
   * Later writes reject with `error`. Resolves once the pending writes are
   * done and the peer got EOF; or, while an abandoned write (its caller gave
   * up) is still under way natively (a peer that does not read holds it up
   * for good), once the pending writes are done: the EOF then follows that
   * write in the background, or never if `close()` comes first.
   */
  closeWrite(error: Error): Promise<void> {
    if (this.#error) return this.#flushed ?? this.#done.promise;
    this.#error = error;
    const pending = this.#writes.filter((write) => !write.abandoned).map((write) => write.promise);
    this.#flushed = Promise.allSettled(pending).then(() => {
      if (this.#current?.abandoned) return;
      return this.#done.promise;
    });
    if (!this.#busy) this.#shutdown();
    return this.#flushed;
  }

  /** Closes at once: pending and later writes reject with `error`. */
  abort(error: Error): void {
    this.#error ??= error;
    this.#shutDown = true;
    this.#failAll(error);
    this.#done.resolve();
  }

  async #drain(): Promise<void> {
    this.#busy = true;
    while (this.#writes.length > 0) {
      const write = this.#current = this.#writes[0];
      write.started = true;
      const bytes = write.bytes;
      try {
        let n = await this.#sink.write(bytes);
        while (n < bytes.byteLength && !write.abandoned) n += await this.#sink.write(bytes.subarray(n));
      } catch (err) {
        this.#current = null;
        this.abort(this.#mapError(err));
        break;
      }
      this.#current = null;
      if (this.#writes[0] === write) this.#writes.shift();
      write.settled();
      write.resolve(bytes.byteLength);
    }
    this.#busy = false;
    if (this.#error) this.#shutdown();
  }

  /** Half-closes natively, once. */
  #shutdown(): void {
    if (this.#shutDown) return;
    this.#shutDown = true;
    // The peer may be gone already: the direction is done either way.
    this.#sink.closeWrite().catch(noop).finally(() => this.#done.resolve());
  }

  #abandon(write: PendingWrite, reason: unknown): void {
    write.abandoned = true;
    write.reject(reason);
    if (!write.started) this.#writes.splice(this.#writes.indexOf(write), 1);
  }

  #failAll(error: Error): void {
    for (const write of this.#writes.splice(0)) {
      write.abandoned = true;
      write.settled();
      write.reject(error);
    }
  }
}
