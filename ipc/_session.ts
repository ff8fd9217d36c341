/**
 * A session: one connection between a client and a server once its
 * handshake is done, whichever protocol it speaks. The client and server
 * classes drive sessions; the protocol files make them. Private to `ipc/`.
 *
 * @module
 */

import type { Conn } from "../conn.ts";
import { ConnClosedError, HandshakeError } from "../errors.ts";
import { noop, onAbort } from "../_async/waiter.ts";
import { SharedTimer } from "../_async/shared_timer.ts";
import type { IpcMessage } from "./types.ts";

/** One established connection. */
export interface Session {
  /** The conn underneath (secured, where encrypted). */
  readonly conn: Conn;
  /** The peer's address, as errors name it. */
  readonly addr: string;
  /** The largest message data this connection carries, in bytes. */
  readonly maxMessageSize: number;
  /** The peer's static public key, where the handshake authenticated one. */
  readonly remoteStaticKey: Uint8Array | null;
  /** Sends one message; resolves once the conn has taken it. */
  send(type: number, data: Uint8Array, signal: AbortSignal | undefined): Promise<void>;
  /** The next message, or `null` once the peer ended the connection cleanly. */
  receive(): Promise<IpcMessage | null>;
  /** The application read one message of this session (it is confirmed to the peer). */
  delivered(): void;
  /** Messages sent that the peer has not confirmed reading; `undefined` without confirmations. */
  readonly unconfirmed: number | undefined;
  /** Closes the connection; idempotent. */
  close(): void;
}

/**
 * Runs a handshake step over `conn` with the signal's abort closing the conn
 * (which ends whatever waits on it) instead of passing the signal to each
 * read: a socket read without a signal reads straight into its buffer,
 * where one with a signal goes through a queue (its native read cannot be
 * aborted), a cost every connect paid several times.
 */
export async function closingOnAbort<T>(conn: Conn, signal: AbortSignal, step: () => Promise<T>): Promise<T> {
  const detach = onAbort(signal, () => conn.close());
  try {
    return await step();
  } finally {
    detach();
  }
}

/**
 * A signal that aborts when `parent` does (with its reason), or once `ms`
 * pass (with a `TimeoutError`, as `AbortSignal.timeout` gives one);
 * `release()` drops its timer and its hold on `parent`. What
 * `AbortSignal.any([parent, AbortSignal.timeout(ms)])` does, for a fraction
 * of its cost, which every connect paid on each side.
 */
export function deadline(parent: AbortSignal, ms: number): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  if (parent.aborted) {
    controller.abort(parent.reason);
    return { signal: controller.signal, release: noop };
  }
  const onParent = () => {
    deadlines.remove(controller);
    controller.abort(parent.reason);
  };
  parent.addEventListener("abort", onParent, { once: true });
  deadlines.add(controller, ms, () => {
    parent.removeEventListener("abort", onParent);
    controller.abort(new DOMException("Signal timed out.", "TimeoutError"));
  });
  return {
    signal: controller.signal,
    release() {
      deadlines.remove(controller);
      parent.removeEventListener("abort", onParent);
    },
  };
}

/** The deadlines of every handshake and connect: one timer that, like AbortSignal.timeout's, keeps no process alive. */
const deadlines = new SharedTimer({ unref: true });

/** What makes a session, per protocol and side. */
export interface HandshakeContext {
  /** The peer's address, as errors name it. */
  addr: string;
  /** Aborts the handshake: its deadline, and the owner's close. */
  signal: AbortSignal;
}

/**
 * Reads exactly `n` bytes, or fewer if the conn ends first (`complete`
 * false), within `signal` if given.
 */
export async function readFull(
  conn: Conn,
  n: number,
  signal?: AbortSignal,
): Promise<{ bytes: Uint8Array; complete: boolean }> {
  const bytes = new Uint8Array(n);
  const options = signal === undefined ? undefined : { signal };
  let got = 0;
  while (got < n) {
    const k = await conn.read(bytes.subarray(got), options);
    if (k === null) return { bytes: bytes.subarray(0, got), complete: false };
    got += k;
  }
  return { bytes, complete: true };
}

/**
 * A handshake the connection cut short: the peer closed, reset or vanished.
 * A client redials after one (a server restarting, a dying listener), where
 * a mismatch would only fail again.
 */
export class HandshakeCutOff extends ConnClosedError {}

/** The error for a handshake the conn ended in the middle of. */
export function cutOff(addr: string, during: string, got?: Uint8Array): HandshakeCutOff {
  const bytes = got !== undefined && got.length > 0 ? ` after ${hex(got)}` : "";
  return new HandshakeCutOff({
    op: "handshake",
    addr,
    detail: `the connection ended during ${during}${bytes}`,
  });
}

/** Whether a failed handshake is worth another dial: cut off, reset, or timed out. */
export function retryable(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof HandshakeCutOff) return true;
    if (e instanceof HandshakeError) continue; // its cause says whether the conn was cut
    if (e instanceof ConnClosedError) return true;
    const code = (e as { code?: unknown }).code;
    if (code === "ECONNRESET" || code === "EPIPE" || code === "ETIMEDOUT" || code === "EBUSY") return true;
  }
  return false;
}

/** Bytes as hex, for error messages (at most 16 of them). */
export function hex(bytes: Uint8Array): string {
  const shown = Array.from(bytes.subarray(0, 16), (b) => b.toString(16).padStart(2, "0")).join(" ");
  return bytes.length > 16 ? `${shown} …` : shown;
}
