/**
 * In-memory transports: `pipe()`, and listeners reached by name or only
 * through their own dialer. They replace the network in `deno test`: the same
 * `Conn`, the same errors, no port opened.
 *
 * @example A named listener as a test fixture
 * ```ts
 * import { connect, listen } from "@tether/tether";
 *
 * await using listener = listen({ transport: "memory", name: "db" });
 * const client = connect({ transport: "memory", name: "db" });
 * await using server = await listener.accept();
 * await using conn = await client;
 * await conn.write(new TextEncoder().encode("ping"));
 * console.log(await server.read(new Uint8Array(4))); // 4
 * ```
 *
 * @module
 */

import type { Addr, CallOptions, Conn } from "../conn.ts";
import type { Dialer, Listener } from "../listener.ts";
import { AcceptQueue, ListenerBase } from "../accept_queue.ts";
import { ByteQueue } from "../byte_queue.ts";
import { QueueConn } from "../queue_conn.ts";
import { AddrInUseError, ConnectionRefusedError, ListenerClosedError } from "../errors.ts";
import { checkBufferSize, checkOptions, checkWhole, describe, refusal } from "../_validate.ts";

/**
 * Options of {@linkcode pipe}.
 *
 * @example
 * ```ts
 * import { pipe, type PipeOptions } from "@tether/tether";
 *
 * const options: PipeOptions = { bufferSize: 4096 };
 * const [a, b] = pipe(options);
 * a.close();
 * b.close();
 * ```
 */
export interface PipeOptions {
  /** Bytes queued per direction before a writer waits; default 64 KiB. */
  bufferSize?: number;
}

/**
 * Options of a memory {@linkcode listen}.
 *
 * @example
 * ```ts
 * import { listen, type MemoryListenOptions } from "@tether/tether";
 *
 * const options: MemoryListenOptions = { transport: "memory", name: "jobs", backlog: 4 };
 * using listener = listen(options);
 * console.log(listener.addr.address); // "jobs"
 * ```
 */
export interface MemoryListenOptions {
  /** The in-memory transport. */
  transport: "memory";
  /**
   * The name to register in this isolate; without one the listener is
   * private and only its `dialer()` reaches it.
   */
  name?: string;
  /** How many connects may wait unaccepted; default 32. */
  backlog?: number;
  /** Bytes queued per direction of each conn; default 64 KiB. */
  bufferSize?: number;
}

/**
 * Options of a memory {@linkcode connect}.
 *
 * @example
 * ```ts
 * import { connect, type MemoryConnectOptions } from "@tether/tether";
 *
 * const options: MemoryConnectOptions = { transport: "memory", name: "jobs", signal: AbortSignal.timeout(100) };
 * await connect(options).catch((err) => console.log(err.code)); // "ECONNREFUSED"
 * ```
 */
export interface MemoryConnectOptions extends CallOptions {
  /** The in-memory transport. */
  transport: "memory";
  /** The name a listener was registered with. */
  name: string;
}

/**
 * A memory listener: a {@linkcode Listener} that also hands out its own dialer.
 *
 * @example
 * ```ts
 * import { listen, type MemoryListener } from "@tether/tether";
 *
 * using listener: MemoryListener = listen({ transport: "memory" });
 * const dialing = listener.dialer().dial();
 * using _server = await listener.accept();
 * using _client = await dialing;
 * ```
 */
export interface MemoryListener extends Listener {
  /** A dialer that reaches this listener whether it has a name or not. */
  dialer(): Dialer;
}

/**
 * The default backlog of a memory listener.
 *
 * @example
 * ```ts
 * import { DEFAULT_BACKLOG, listen } from "@tether/tether";
 *
 * using listener = listen({ transport: "memory", backlog: DEFAULT_BACKLOG * 2 });
 * ```
 */
export const DEFAULT_BACKLOG = 32;

function pair(local: Addr, remote: Addr, bufferSize: number): [QueueConn, QueueConn] {
  const ab = new ByteQueue({ window: bufferSize });
  const ba = new ByteQueue({ window: bufferSize });
  return [
    new QueueConn({ localAddr: local, remoteAddr: remote, inbound: ba, outbound: ab }),
    new QueueConn({ localAddr: remote, remoteAddr: local, inbound: ab, outbound: ba }),
  ];
}

/**
 * Makes two conns joined to each other in memory, like Go's `net.Pipe`, with
 * a bounded window per direction.
 *
 * @example
 * ```ts
 * import { pipe } from "@tether/tether";
 *
 * const [a, b] = pipe({ bufferSize: 1024 });
 * const echo = b.readable.pipeTo(b.writable);
 * await a.write(new Uint8Array([1, 2, 3]));
 * await a.closeWrite();
 * console.log(await new Response(a.readable).bytes()); // Uint8Array(3) [ 1, 2, 3 ]
 * await echo;
 * ```
 */
export function pipe(options: PipeOptions = {}): [Conn, Conn] {
  checkOptions(options, "pipe");
  const addr: Addr = { transport: "memory", address: "pipe" };
  return pair(addr, addr, checkBufferSize(options.bufferSize));
}

/** The listeners registered by name in this isolate. */
const registry = new Map<string, MemoryListenerImpl>();
let privateCount = 0;

class MemoryListenerImpl extends ListenerBase<QueueConn> implements MemoryListener {
  readonly addr: Addr;
  readonly #queue: AcceptQueue<QueueConn>;
  readonly #bufferSize: number;
  readonly #name: string | undefined;

  constructor(name: string | undefined, backlog: number, bufferSize: number) {
    super();
    this.#name = name;
    this.addr = { transport: "memory", address: name ?? `private-${++privateCount}` };
    this.#queue = new AcceptQueue({ addr: `memory:${this.addr.address}`, backlog });
    this.#bufferSize = bufferSize;
  }

  /**
   * Connects: completes as soon as the new conn is in the backlog, before
   * anyone accepts it. `refused` is the error once the listener is closed.
   */
  connect(options: CallOptions | undefined, refused: () => Error): Promise<QueueConn> {
    const refusedNow = refusal(options, { op: "connect", addr: this.#queue.addr });
    if (refusedNow !== undefined) return Promise.reject(refusedNow);
    if (this.#queue.closed) return Promise.reject(refused());
    const [server, client] = pair(this.addr, this.addr, this.#bufferSize);
    try {
      this.#queue.enqueue(server);
    } catch (err) {
      return Promise.reject(err);
    }
    return Promise.resolve(client);
  }

  accept(options?: CallOptions): Promise<QueueConn> {
    return this.#queue.accept(options);
  }

  dialer(): Dialer {
    const addr = this.#queue.addr;
    return {
      dial: (options) => this.connect(options, () => new ListenerClosedError({ op: "connect", addr })),
    };
  }

  close(): void {
    if (this.#queue.closed) return;
    if (this.#name !== undefined && registry.get(this.#name) === this) registry.delete(this.#name);
    // Conns still in the backlog are closed: their dialers read EOF, and their writes fail.
    this.#queue.close((conn) => conn.close());
  }
}

/**
 * Listens in memory. With a `name`, `connect({transport: "memory", name})`
 * reaches it from anywhere in this isolate, and a second listener on the same
 * name gets `AddrInUseError`; without one it is private, and only its
 * `dialer()` reaches it.
 *
 * @example A private listener and its dialer
 * ```ts
 * import { listen } from "@tether/tether";
 *
 * using listener = listen({ transport: "memory" });
 * const dialing = listener.dialer().dial();
 * using server = await listener.accept();
 * using client = await dialing;
 * console.log(client.remoteAddr.address === listener.addr.address); // true
 * ```
 */
export function listenMemory(options: MemoryListenOptions): MemoryListener {
  checkOptions(options, "listen");
  const { name, backlog = DEFAULT_BACKLOG } = options;
  if (name !== undefined) checkName(name);
  checkWhole(backlog, "backlog", 0, Number.MAX_SAFE_INTEGER);
  const bufferSize = checkBufferSize(options.bufferSize);
  if (name !== undefined && registry.has(name)) {
    throw new AddrInUseError({ addr: `memory:${name}` });
  }
  const listener = new MemoryListenerImpl(name, backlog, bufferSize);
  if (name !== undefined) registry.set(name, listener);
  return listener;
}

/**
 * Connects to the memory listener registered as `name`. The connect
 * completes as soon as the listener has room in its backlog, as a socket's
 * does: the conn can be written at once, and `accept()` takes it later. A
 * full backlog is a `BacklogFullError`; a conn still in the backlog when the
 * listener closes sees its peer close.
 *
 * @example
 * ```ts
 * import { connect, ConnectionRefusedError, listen } from "@tether/tether";
 *
 * const err = await connect({ transport: "memory", name: "none" }).catch((e) => e);
 * console.log(err instanceof ConnectionRefusedError); // true
 *
 * await using listener = listen({ transport: "memory", name: "jobs" });
 * await using conn = await connect({ transport: "memory", name: "jobs" }); // before accept()
 * await conn.write(new TextEncoder().encode("job 1"));
 * await using server = await listener.accept();
 * console.log(await server.read(new Uint8Array(5))); // 5
 * ```
 */
export function connectMemory(options: MemoryConnectOptions): Promise<QueueConn> {
  try {
    checkOptions(options, "connect");
    checkName(options.name);
  } catch (err) {
    return Promise.reject(err);
  }
  const addr = `memory:${options.name}`;
  const refusedNow = refusal(options, { op: "connect", addr });
  if (refusedNow !== undefined) return Promise.reject(refusedNow);
  const listener = registry.get(options.name);
  if (listener === undefined) return Promise.reject(new ConnectionRefusedError({ addr }));
  return listener.connect(options, () => new ConnectionRefusedError({ addr }));
}

function checkName(name: unknown): asserts name is string {
  if (typeof name !== "string") {
    throw new TypeError(`name must be a string, got ${describe(name)}`);
  }
  if (name.length === 0) throw new TypeError("name must not be empty");
}
