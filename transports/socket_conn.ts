/**
 * A `Deno.Conn` (Unix or TCP socket) adapted to the {@linkcode Conn}
 * contract: abortable reads and writes, ordered concurrent callers,
 * half-close, close, and stream views built on `read`/`write`.
 *
 * @example
 * ```ts
 * import { connect, listen } from "@tether/tether";
 *
 * await using listener = await listen({ transport: "tcp", hostname: "127.0.0.1", port: 0 });
 * const { hostname, port } = listener.addr;
 * await using client = await connect({ transport: "tcp", hostname, port });
 * await using server = await listener.accept();
 * await client.write(new Uint8Array([1, 2, 3]), { signal: AbortSignal.timeout(1000) });
 * console.log(await server.read(new Uint8Array(3), { signal: AbortSignal.timeout(1000) })); // 3
 * ```
 *
 * @module
 */

import { type Addr, type CallOptions, type Conn, formatAddr } from "../conn.ts";
import { ConnClosedError } from "../errors.ts";
import { queueReadable } from "../queue_conn.ts";
import { noop } from "../_async/waiter.ts";
import { checkBytes, rejection } from "../_validate.ts";
import { SocketInbound } from "./socket_inbound.ts";
import { SocketOutbound } from "./socket_outbound.ts";
import { closeQuietly, socketError } from "./socket_errors.ts";
import { type LazyError, lazyError } from "../_lazy.ts";

/**
 * What a {@linkcode SocketConn} is made of, besides the native conn.
 *
 * @example
 * ```ts
 * import type { SocketConnInit } from "./socket_conn.ts";
 *
 * const init: SocketConnInit = {
 *   localAddr: { transport: "unix", address: "" },
 *   remoteAddr: { transport: "unix", address: "/tmp/app.sock" },
 *   bufferSize: 64 * 1024,
 * };
 * console.log(init.bufferSize); // 65536
 * ```
 */
export interface SocketConnInit {
  /** This end's address. */
  localAddr: Addr;
  /** The peer's address. */
  remoteAddr: Addr;
  /** The address named in error messages (`transport:address`), when `remoteAddr` names nothing useful. */
  where?: string;
  /** The most bytes read ahead and queued for readers; default 64 KiB. */
  bufferSize: number;
}

/**
 * A socket as a {@linkcode Conn}. Made by `listen()`/`connect()` with the
 * `"unix"`, `"tcp"` and `"pipe"` transports.
 *
 * @example
 * ```ts
 * import { listen, type SocketConn } from "@tether/tether";
 *
 * await using listener = await listen({ transport: "tcp", hostname: "127.0.0.1", port: 0 });
 * const accepting: Promise<SocketConn> = listener.accept();
 * console.log(typeof accepting.then); // "function"
 * listener.close();
 * await accepting.catch(() => {});
 * ```
 */
export class SocketConn implements Conn {
  /** This end's address. */
  readonly localAddr: Addr;
  /** The peer's address. */
  readonly remoteAddr: Addr;
  #native: Deno.Conn;
  #where: string;
  /** Made at the first read: a conn that is only written, or closed at once, never needs it. */
  #inbound: SocketInbound | null = null;
  #bufferSize: number;
  #outbound: SocketOutbound;
  /**
   * `open`; `released` once both directions are done and the native socket
   * closed; `closed` once `close()` was called (which also closes the socket).
   */
  #state: "open" | "closed" | "released" = "open";
  #readable: ReadableStream<Uint8Array> | null = null;
  #writable: WritableStream<Uint8Array> | null = null;
  /** How many of the two directions are done. */
  #directionsDone = 0;
  /** Made when someone asks for `closed`. */
  #closed: PromiseWithResolvers<void> | null = null;

  /** Adapts `native`; the conn owns it from now on. */
  constructor(native: Deno.Conn, init: SocketConnInit) {
    this.#native = native;
    this.localAddr = init.localAddr;
    this.remoteAddr = init.remoteAddr;
    const where = this.#where = init.where ?? formatAddr(init.remoteAddr);
    this.#bufferSize = init.bufferSize;
    this.#outbound = new SocketOutbound(
      native,
      (err) => socketError(err, "write", where),
      () => this.#directionDone(),
    );
  }

  /** Settles once both directions are done; the socket is closed then. */
  get closed(): Promise<void> {
    if (this.#closed === null) {
      this.#closed = Promise.withResolvers<void>();
      if (this.#directionsDone === 2) this.#closed.resolve();
    }
    return this.#closed.promise;
  }

  /** Reads into `p`; `null` at EOF. See {@linkcode Conn.read}. */
  read(p: Uint8Array, options?: CallOptions): Promise<number | null> {
    if (!(p instanceof Uint8Array)) return rejection(() => checkBytes(p))!;
    return this.#in().read(p, options);
  }

  /** Writes all of `p`. See {@linkcode Conn.write}. */
  write(p: Uint8Array, options?: CallOptions): Promise<number> {
    if (!(p instanceof Uint8Array)) return rejection(() => checkBytes(p))!;
    return this.#outbound.write(p, options);
  }

  /** Half-closes once the writes pending before it are written. */
  closeWrite(): Promise<void> {
    const addr = this.#where;
    return this.#outbound.closeWrite(
      lazyError(() => new ConnClosedError({ op: "write", addr, detail: "after closeWrite" })),
    );
  }

  /** Closes the socket at once; pending calls reject. Idempotent. */
  close(): void {
    if (this.#state === "closed") return;
    this.#release();
    this.#state = "closed";
    if (this.#inbound === null) {
      this.#directionDone(); // never read: nothing to close but the socket
    } else {
      this.#inbound.close(this.#closedError("read"));
    }
    this.#outbound.abort(this.#closedError("write"));
  }

  /**
   * Turns Nagle's algorithm off (`true`, the default) or on, as
   * `Deno.TcpConn.setNoDelay` does; no effect on a Unix socket.
   */
  setNoDelay(noDelay = true): void {
    const native = this.#native as Partial<Deno.TcpConn>;
    native.setNoDelay?.(noDelay);
  }

  /** Turns TCP keep-alive probes on (`true`, the default) or off; no effect on a Unix socket. */
  setKeepAlive(keepAlive = true): void {
    const native = this.#native as Partial<Deno.TcpConn>;
    native.setKeepAlive?.(keepAlive);
  }

  /** Lets the conn keep the process alive again (the default), after {@linkcode SocketConn.unref}. */
  ref(): void {
    this.#native.ref();
  }

  /** Lets the process exit even while this conn waits for bytes, as `Deno.Conn.unref` does. */
  unref(): void {
    this.#native.unref();
  }

  /** Closes the conn; `await using` calls it. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  /** Closes the conn; `using` calls it. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * The inbound bytes as a byte stream (BYOB readers work). Cancelling it
   * stops reading for good: later reads reject with `ConnClosedError`, and
   * what the peer still sends is read and dropped, so its writes complete
   * (on `pipe()` they fail instead; a socket can't say "stop sending" short
   * of closing). Writing goes on.
   */
  get readable(): ReadableStream<Uint8Array> {
    return this.#readable ??= queueReadable(this.#in(), () => this.#readCancelled());
  }

  /** The outbound bytes, written with {@linkcode SocketConn.write}. */
  get writable(): WritableStream<Uint8Array> {
    return this.#writable ??= new WritableStream<Uint8Array>({
      write: (chunk) => this.write(chunk).then(noop),
      close: () => this.closeWrite(),
      abort: () => this.close(),
    });
  }

  /**
   * Stops reading for good: later reads reject; writing goes on. The socket
   * is still drained, its bytes dropped, so the peer's writes complete
   * rather than wait (unlike `pipe()`, a socket can't fail them short of
   * closing).
   */
  #readCancelled(): void {
    this.#in().discard(
      new ConnClosedError({ op: "read", addr: this.#where, detail: "readable was cancelled" }),
    );
  }

  /** The reading direction, made on first use; made after `close()`, it is closed from the start. */
  #in(): SocketInbound {
    if (this.#inbound !== null) return this.#inbound;
    const where = this.#where;
    const closed = this.#state === "closed";
    const inbound = this.#inbound = new SocketInbound(
      this.#native,
      this.#bufferSize,
      (err) => socketError(err, "read", where),
      closed ? noop : () => this.#directionDone(), // counted done by close() already
    );
    if (closed) inbound.close(this.#closedError("read"));
    return inbound;
  }

  /** The error calls on a closed conn get, made when one does. */
  #closedError(op: "read" | "write"): LazyError {
    const addr = this.#where;
    return lazyError(() => new ConnClosedError({ op, addr, detail: "the conn was closed" }));
  }

  /** One direction is done; once both are, the socket is closed and `closed` settles. */
  #directionDone(): void {
    if (++this.#directionsDone < 2) return;
    this.#release();
    this.#closed?.resolve();
  }

  /** Closes the native socket, once. */
  #release(): void {
    if (this.#state !== "open") return;
    this.#state = "released";
    closeQuietly(this.#native);
  }
}
