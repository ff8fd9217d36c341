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

import type { CallOptions } from "../conn.ts";
import { Fifo } from "../_async/fifo.ts";
import { noop, type Waiter, waiter } from "../_async/waiter.ts";
import { refusal } from "../_validate.ts";
import type { LazyError } from "../_lazy.ts";

/** The native side: `Deno.Conn`'s `write` and `closeWrite`. */
export interface NativeSink {
  write(p: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
}

interface PendingWrite extends Waiter<number> {
  bytes: Uint8Array;
  /**
   * `queued`: waiting its turn; `writing`: its native write has begun, so an
   * abort can only stop what follows; `abandoned`: its caller was answered
   * already (aborted, or the direction closed): write nothing more of it.
   */
  phase: "queued" | "writing" | "abandoned";
}

/**
 * The direction's state: `open`; `closing` once no more writes are taken
 * (`error` for them) while the pending ones finish; `shut` once the native
 * side was half-closed or the direction aborted.
 */
type State =
  | { readonly kind: "open" }
  | { readonly kind: "closing"; readonly error: LazyError; readonly flushed: Promise<void> }
  | { readonly kind: "shut"; readonly error: LazyError; readonly flushed: Promise<void> | null };

/** Serialized native writes with abortable callers, half-close and close. */
export class SocketOutbound {
  #sink: NativeSink;
  #mapError: (err: unknown) => Error;
  /** Made at the first write: a conn closed without writing never needs it. */
  #writes: Fifo<PendingWrite> | null = null;
  #state: State = { kind: "open" };
  /** The drain loop is running. */
  #draining = false;
  /** The direction is done: closed, and its last write settled. */
  #isDone = false;
  /** Made when someone waits for the direction to be done. */
  #done: PromiseWithResolvers<void> | null = null;
  #onDone: () => void;
  /** The write whose native write is under way. */
  #current: PendingWrite | null = null;

  /**
   * Writes to `sink`; `mapError` turns its errors into the contract's;
   * `onDone` runs once the direction is done.
   */
  constructor(sink: NativeSink, mapError: (err: unknown) => Error, onDone: () => void) {
    this.#sink = sink;
    this.#mapError = mapError;
    this.#onDone = onDone;
  }

  /** Resolves once the writing end is closed and its last write settled. */
  get writeDone(): Promise<void> {
    if (this.#isDone) return Promise.resolve();
    return (this.#done ??= Promise.withResolvers<void>()).promise;
  }

  /** Writes all of `p` after the writes before it; resolves with its length. */
  write(p: Uint8Array, options?: CallOptions): Promise<number> {
    const refused = refusal(options);
    if (refused !== undefined) return Promise.reject(refused);
    const state = this.#state;
    if (state.kind !== "open") return Promise.reject(state.error());
    if (p.byteLength === 0) return Promise.resolve(0);
    const signal = options?.signal;
    const w = waiter<number>(signal, () => this.#abandon(write)) as PendingWrite;
    const write = Object.assign(w, { bytes: signal === undefined ? p : p.slice(), phase: "queued" as const });
    (this.#writes ??= new Fifo()).push(write);
    if (!this.#draining) this.#drain();
    return write.promise;
  }

  /**
   * No more writes: once the pending ones are written, the peer gets EOF.
   * Later writes reject with `error()`. Resolves once the pending writes are
   * done and the peer got EOF; or, while an abandoned write (its caller gave
   * up) is still under way natively (a peer that does not read holds it up
   * for good), once the pending writes are done: the EOF then follows that
   * write in the background, or never if `close()` comes first.
   */
  closeWrite(error: LazyError): Promise<void> {
    const state = this.#state;
    if (state.kind !== "open") return state.flushed ?? this.writeDone;
    const pending = [...this.#writes ?? []].filter((write) => write.phase !== "abandoned").map((write) =>
      write.promise
    );
    const flushed = Promise.allSettled(pending).then(() => {
      if (this.#current?.phase === "abandoned") return;
      return this.writeDone;
    });
    this.#state = { kind: "closing", error, flushed };
    if (!this.#draining) this.#shutdown();
    return flushed;
  }

  /** Closes at once: pending and later writes reject with `error()`. */
  abort(error: LazyError): void {
    const state = this.#state;
    this.#state = {
      kind: "shut",
      error: state.kind === "open" ? error : state.error,
      flushed: state.kind === "open" ? null : state.flushed,
    };
    if (this.#writes !== null && this.#writes.length > 0) {
      for (const write of this.#writes.removeFrom(0)) {
        write.phase = "abandoned";
        write.reject(error());
      }
    }
    this.#finish();
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    const writes = this.#writes!; // a write started the drain
    while (writes.length > 0) {
      const write = this.#current = writes.at(0);
      write.phase = "writing";
      const bytes = write.bytes;
      try {
        let n = await this.#sink.write(bytes);
        // An abort during the native write above abandons the rest.
        while (n < bytes.byteLength && !abandoned(write)) n += await this.#sink.write(bytes.subarray(n));
      } catch (err) {
        this.#current = null;
        const error = this.#mapError(err);
        this.abort(() => error);
        break;
      }
      this.#current = null;
      if (writes.length > 0 && writes.at(0) === write) writes.shift();
      write.resolve(bytes.byteLength);
    }
    this.#draining = false;
    if (this.#state.kind === "closing") this.#shutdown();
  }

  /** Half-closes natively, once. */
  #shutdown(): void {
    const state = this.#state;
    if (state.kind !== "closing") return;
    this.#state = { kind: "shut", error: state.error, flushed: state.flushed };
    // The peer may be gone already: the direction is done either way.
    this.#sink.closeWrite().catch(noop).finally(() => this.#finish());
  }

  /** The direction is done, once. */
  #finish(): void {
    if (this.#isDone) return;
    this.#isDone = true;
    this.#done?.resolve();
    this.#onDone();
  }

  /** The caller's signal aborted: it rejects now; a write not yet begun is dropped. */
  #abandon(write: PendingWrite): void {
    const wasQueued = write.phase === "queued";
    write.phase = "abandoned";
    if (wasQueued) {
      const i = this.#writes!.indexOf(write);
      if (i >= 0) this.#writes!.removeAt(i);
    }
  }
}

/** Whether the write's caller gave up; a function, as the phase changes behind the type checker's back. */
function abandoned(write: PendingWrite): boolean {
  return write.phase === "abandoned";
}
