/**
 * Conns and listeners with one defect each, for the tests of the conformance
 * kit itself: a kit check is only worth something if it fails on the defect
 * it is about, and says so clearly.
 */
import {
  type Addr,
  type CallOptions,
  type Conn,
  ConnClosedError,
  ConnError,
  type Dialer,
  listen,
  type Listener,
  pipe,
  type PipeOptions,
} from "../mod.ts";
import { acceptLoop, AcceptQueue } from "../transport.ts";

/** What a {@linkcode WrappedConn} does differently from the conn it wraps. */
export interface Defect {
  localAddr?: Addr;
  remoteAddr?: Addr;
  read?(inner: Conn, p: Uint8Array, options?: CallOptions): Promise<number | null>;
  write?(inner: Conn, p: Uint8Array, options?: CallOptions): Promise<number>;
  closeWrite?(inner: Conn): Promise<void>;
  close?(inner: Conn): void;
}

/** A conn that passes everything to `inner`, except what `defect` overrides. */
export class WrappedConn implements Conn {
  readonly #inner: Conn;
  readonly #defect: Defect;
  constructor(inner: Conn, defect: Defect) {
    this.#inner = inner;
    this.#defect = defect;
  }
  get localAddr(): Addr {
    return this.#defect.localAddr ?? this.#inner.localAddr;
  }
  get remoteAddr(): Addr {
    return this.#defect.remoteAddr ?? this.#inner.remoteAddr;
  }
  get readable(): ReadableStream<Uint8Array> {
    return this.#inner.readable;
  }
  get writable(): WritableStream<Uint8Array> {
    return this.#inner.writable;
  }
  get closed(): Promise<void> {
    return this.#inner.closed;
  }
  read(p: Uint8Array, options?: CallOptions): Promise<number | null> {
    return this.#defect.read?.(this.#inner, p, options) ?? this.#inner.read(p, options);
  }
  write(p: Uint8Array, options?: CallOptions): Promise<number> {
    return this.#defect.write?.(this.#inner, p, options) ?? this.#inner.write(p, options);
  }
  closeWrite(): Promise<void> {
    return this.#defect.closeWrite?.(this.#inner) ?? this.#inner.closeWrite();
  }
  close(): void {
    if (this.#defect.close) this.#defect.close(this.#inner);
    else this.#inner.close();
  }
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
  [Symbol.dispose](): void {
    this.close();
  }
}

/** A pipe whose ends both have `defect` (a fresh one per end, from `make`). */
export function defectivePair(make: () => Defect, options?: PipeOptions): [Conn, Conn] {
  const [a, b] = pipe(options);
  return [new WrappedConn(a, make()), new WrappedConn(b, make())];
}

/**
 * No backpressure: every write resolves at once, its bytes copied into an
 * unbounded queue that a pump drains into the real conn. Every other rule
 * holds: the real conn refuses what it would refuse.
 */
export function unbounded(): Defect {
  let tail = Promise.resolve();
  let state: "open" | "writeClosed" | "closed" = "open";
  return {
    write(inner, p, options) {
      const signal = options?.signal;
      const refused = !(p instanceof Uint8Array) ||
        (signal !== undefined && (!(signal instanceof AbortSignal) || signal.aborted));
      if (state === "writeClosed") {
        return Promise.reject(new ConnClosedError({ op: "write", detail: "after closeWrite" }));
      }
      if (state === "closed" || refused) return inner.write(p, options);
      const copy = p.slice();
      // Once the real conn fails a write, later writes go to it, and fail too.
      tail = tail.then(() => inner.write(copy)).then(() => {}, () => void (state = "closed"));
      return Promise.resolve(p.length);
    },
    closeWrite(inner) {
      if (state === "open") state = "writeClosed";
      return tail.then(() => inner.closeWrite());
    },
    close(inner) {
      state = "closed";
      inner.close();
    },
  };
}

/** Corrupts the first byte of every write longer than 1000 bytes. */
export function corrupting(): Defect {
  return {
    write(inner, p, options) {
      if (p.length <= 1000) return inner.write(p, options);
      const copy = p.slice();
      copy[0] ^= 0xff;
      return inner.write(copy, options);
    },
  };
}

/** A read that never settles: not on data, not on its signal, not on close. */
export function deafReads(): Defect {
  return { read: () => new Promise(() => {}) };
}

/** Write errors swallowed: a write that fails resolves as if it had succeeded. */
export function lyingWrites(): Defect {
  return { write: (inner, p, options) => inner.write(p, options).catch(() => p.length) };
}

/**
 * Slow, then fast: the first 64 KiB write is held until the next write that
 * has a signal arrives; then both go through at once, that one before its
 * signal can abort it. After that the conn behaves. Counts the writes with
 * a signal in `signalled`.
 */
export function slowThenFast(): Defect & { signalled: number } {
  let held: { copy: Uint8Array; resolve(n: number): void; reject(e: unknown): void } | null = null;
  let stage: "idle" | "holding" | "released" = "idle";
  const defect = {
    signalled: 0,
    write(inner: Conn, p: Uint8Array, options?: CallOptions): Promise<number> {
      if (options?.signal !== undefined) defect.signalled++;
      if (stage === "idle" && p.length === 64 * 1024) {
        stage = "holding";
        const copy = p.slice();
        return new Promise<number>((resolve, reject) => (held = { copy, resolve, reject }));
      }
      if (stage === "holding" && options?.signal !== undefined && held !== null) {
        stage = "released";
        const { copy, resolve, reject } = held;
        inner.write(copy).then(resolve, reject);
        return inner.write(p); // the signal is ignored: it goes through now
      }
      return inner.write(p, options);
    },
  };
  return defect;
}

/** A listener whose dial waits until the connection is accepted: issue 7's first bug. */
export function connectWaitsForAccept(): { listener: Listener; dialer: Dialer } {
  const addr: Addr = { transport: "waiting", address: "w" };
  const queue = new AcceptQueue<Conn>({ addr: "waiting:w" });
  const listener: Listener = {
    addr,
    accept: (options) => queue.accept(options),
    close: () => queue.close((conn) => conn.close()),
    [Symbol.asyncIterator]: () => acceptLoop(listener),
    [Symbol.asyncDispose]: () => Promise.resolve(queue.close()),
    [Symbol.dispose]: () => queue.close(),
  };
  const dialer: Dialer = {
    async dial() {
      const [server, client] = pipe();
      await queue.handOff(server);
      return client;
    },
  };
  return { listener, dialer };
}

/** A private memory listener whose aborted accepts reject with the bare signal reason. */
export function bareAcceptReasons(): { listener: Listener; dialer: Dialer } {
  const inner = listen({ transport: "memory" });
  const listener: Listener = {
    addr: inner.addr,
    accept: (options) =>
      inner.accept(options).catch((err) => {
        throw err instanceof ConnError && err.cause !== undefined ? err.cause : err;
      }),
    close: () => inner.close(),
    [Symbol.asyncIterator]: () => acceptLoop(listener),
    [Symbol.asyncDispose]: () => inner[Symbol.asyncDispose](),
    [Symbol.dispose]: () => inner.close(),
  };
  return { listener, dialer: inner.dialer() };
}
