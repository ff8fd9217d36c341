/**
 * Links: how `listen({transport: "worker"})` and `connect({transport:
 * "worker"})` find each other across a `Worker` (or a worker's parent, or a
 * `MessagePort`). Private to `transports/`.
 *
 * ## Messages on the link (objects tagged `tether: "link/1"`)
 *
 * | `kind` | fields | meaning |
 * | --- | --- | --- |
 * | `up` | `lock`, `ask` | Tether is listening on this side of the link; `lock` is its isolate's lock (see `_isolate.ts`); `ask: true` asks the other side to answer with its own `up` |
 * | `connect` | `id`, `name`, `port` | Connect to listener `name`; `port` is the far end of a fresh `MessageChannel` |
 * | `accepted` | `id` | The conn is in the listener's backlog |
 * | `refused` | `id` | Nobody listens on `name` here |
 * | `full` | `id`, `backlog` | The listener's backlog is full |
 *
 * Each side sends `up` when it starts using the link, and a `connect` goes
 * out only after the other side's `up` came: a worker still loading its
 * script would drop it. So a connect made before the worker listens waits
 * (within its signal) instead of being lost; once the worker is up, a name
 * nobody listens on is refused at once. Other messages on the link (the
 * application's own) are left alone.
 *
 * @module
 */

import type { Addr, CallOptions } from "../conn.ts";
import { AcceptQueue, ListenerBase } from "../accept_queue.ts";
import { abortError, AddrInUseError, BacklogFullError, ConnectionRefusedError } from "../errors.ts";
import { WaitQueue } from "../_async/wait_queue.ts";
import { type Waiter, waiter } from "../_async/waiter.ts";
import { refusal } from "../_validate.ts";
import { isolateLock, watchIsolate } from "./_isolate.ts";
import { PortConn, type PortWindow } from "./_port_conn.ts";
import type { MessageEndpoint } from "./worker.ts";

const LINK_PROTOCOL = "link/1";

type Reply = "accepted" | "refused" | "full";

interface Pending {
  waiter: Waiter<PortConn>;
  conn: PortConn;
  name: string;
}

function isLinkMessage(data: unknown): data is Record<string, unknown> {
  return data !== null && typeof data === "object" && (data as { tether?: unknown }).tether === LINK_PROTOCOL;
}

function workerAddr(name: string): Addr {
  return { transport: "worker", address: name };
}

/**
 * This isolate's side of one link. The other side is `waiting` until its
 * `up` comes, then `up`; `gone` once its isolate ended.
 */
class Link {
  readonly #endpoint: MessageEndpoint;
  #state: "waiting" | "up" | "gone" = "waiting";
  #peerLock: string | null = null;
  #up = new WaitQueue<void>();
  #pending = new Map<number, Pending>();
  #listeners = new Map<string, WorkerListenerImpl>();
  #nextId = 1;
  #unwatch: (() => Promise<void>) | null = null;
  /** Why the other side is `gone`, for connects made since. */
  #goneDetail = "the worker has ended";

  constructor(endpoint: MessageEndpoint) {
    this.#endpoint = endpoint;
    endpoint.addEventListener("message", (event) => this.#receive(event.data));
    // A Worker whose script fails before tether is up in it never sends `up`,
    // and its isolate lock is not known yet: the "error" its Worker object
    // fires is the only sign, and without it a connect would wait out its
    // signal (one without a signal, for ever).
    if (typeof (endpoint as Partial<Worker>).terminate === "function") {
      (endpoint as Worker).addEventListener("error", (event) => this.#failedEarly(event));
    }
    // A MessagePort delivers nothing to listeners added this way until started.
    (endpoint as { start?: () => void }).start?.();
    this.#announce(true);
  }

  /** Posts `up`, once this isolate holds its lock. */
  #announce(ask: boolean): void {
    const lock = isolateLock();
    if (typeof lock === "string" || lock === null) this.#post({ kind: "up", lock, ask });
    else lock.then((name) => this.#post({ kind: "up", lock: name, ask }));
  }

  #post(message: Record<string, unknown>, transfer: Transferable[] = []): void {
    this.#endpoint.postMessage({ tether: LINK_PROTOCOL, ...message }, transfer);
  }

  listen(name: string, backlog: number, window: PortWindow): WorkerListenerImpl {
    if (this.#listeners.has(name)) throw new AddrInUseError({ op: "listen", addr: `worker:${name}` });
    const listener = new WorkerListenerImpl(this, name, backlog, window);
    this.#listeners.set(name, listener);
    return listener;
  }

  unlisten(name: string, listener: WorkerListenerImpl): void {
    if (this.#listeners.get(name) === listener) this.#listeners.delete(name);
  }

  async connect(name: string, window: PortWindow, options: CallOptions): Promise<PortConn> {
    const context = { op: "connect", addr: `worker:${name}` };
    const { signal } = options;
    const refused = refusal(options, context);
    if (refused !== undefined) throw refused;
    if (this.#state === "waiting") {
      await this.#up.wait(undefined, signal, (reason) => abortError(reason, context));
    }
    if (this.#state === "gone") throw new ConnectionRefusedError({ ...context, detail: this.#goneDetail });
    const { port1, port2 } = new MessageChannel();
    const conn = new PortConn({
      port: port1,
      ...window,
      localAddr: workerAddr(name),
      remoteAddr: workerAddr(name),
    });
    const id = this.#nextId++;
    const w = waiter<PortConn>(signal, (reason) => {
      this.#pending.delete(id);
      conn.close();
      this.#watch();
      return abortError(reason, context);
    });
    this.#pending.set(id, { waiter: w, conn, name });
    this.#post({ kind: "connect", id, name, port: port2 }, [port2]);
    this.#watch();
    return w.promise;
  }

  #receive(data: unknown): void {
    if (!isLinkMessage(data)) return;
    switch (data.kind) {
      case "up":
        return this.#peerUp(data.lock, data.ask === true);
      case "connect":
        return this.#incoming(data.id, data.name, data.port);
      case "accepted":
      case "refused":
      case "full":
        return this.#reply(data.id, data.kind, data.backlog);
    }
  }

  #peerUp(lock: unknown, ask: boolean): void {
    if (this.#state === "gone") return;
    this.#state = "up";
    this.#peerLock = typeof lock === "string" ? lock : null;
    if (ask) this.#announce(false);
    for (const w of this.#up.drain()) w.resolve();
    this.#unwatch?.();
    this.#unwatch = null;
    this.#watch();
  }

  /** A connect from the other side: into the listener's backlog, or refused. */
  #incoming(id: unknown, name: unknown, port: unknown): void {
    if (typeof id !== "number" || !(port instanceof MessagePort)) return;
    const listener = typeof name === "string" ? this.#listeners.get(name) : undefined;
    if (listener === undefined) {
      port.close();
      return this.#post({ kind: "refused", id });
    }
    try {
      listener.admit(port);
    } catch (err) {
      if (!(err instanceof BacklogFullError)) throw err;
      return this.#post({ kind: "full", id, backlog: listener.backlog });
    }
    this.#post({ kind: "accepted", id });
  }

  #reply(id: unknown, kind: Reply, backlog: unknown): void {
    const pending = typeof id === "number" ? this.#pending.get(id) : undefined;
    if (pending === undefined) return;
    this.#pending.delete(id as number);
    this.#watch();
    const addr = `worker:${pending.name}`;
    if (kind === "accepted") return pending.waiter.resolve(pending.conn);
    pending.conn.close();
    pending.waiter.reject(
      kind === "refused"
        ? new ConnectionRefusedError({ op: "connect", addr })
        : new BacklogFullError({ addr, backlog: typeof backlog === "number" ? backlog : undefined }),
    );
  }

  /** Watches the other side's isolate while connects wait on it, and only then. */
  #watch(): void {
    const needed = this.#pending.size > 0 && this.#peerLock !== null;
    if (needed && this.#unwatch === null) {
      this.#unwatch = watchIsolate(this.#peerLock!, () => this.#gone());
    } else if (!needed && this.#unwatch !== null) {
      this.#unwatch();
      this.#unwatch = null;
    }
  }

  /** The worker's script failed before it answered `up`: connects waiting for it are refused. */
  #failedEarly(event: ErrorEvent): void {
    if (this.#state !== "waiting") return;
    this.#state = "gone";
    this.#goneDetail = `the worker failed before tether was up in it (${event.message})`;
    for (const w of this.#up.drain()) w.resolve();
  }

  #gone(): void {
    this.#state = "gone";
    this.#unwatch = null;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const { waiter, conn, name } of pending) {
      conn.close();
      waiter.reject(
        new ConnectionRefusedError({
          op: "connect",
          addr: `worker:${name}`,
          detail: "the worker ended before it answered",
        }),
      );
    }
  }
}

/** A listener on one link. */
export class WorkerListenerImpl extends ListenerBase<PortConn> {
  readonly addr: Addr;
  readonly #link: Link;
  readonly #name: string;
  readonly #queue: AcceptQueue<PortConn>;
  readonly #window: PortWindow;

  constructor(link: Link, name: string, backlog: number, window: PortWindow) {
    super();
    this.#link = link;
    this.#name = name;
    this.addr = workerAddr(name);
    this.#queue = new AcceptQueue({ addr: `worker:${name}`, backlog });
    this.#window = window;
  }

  /** How many connects may wait unaccepted. */
  get backlog(): number {
    return this.#queue.backlog;
  }

  /** Takes a connect's port into the backlog; throws `BacklogFullError` when full. */
  admit(port: MessagePort): void {
    const conn = new PortConn({ port, ...this.#window, localAddr: this.addr, remoteAddr: this.addr });
    try {
      this.#queue.enqueue(conn);
    } catch (err) {
      conn.close();
      throw err;
    }
  }

  accept(options?: CallOptions): Promise<PortConn> {
    return this.#queue.accept(options);
  }

  close(): void {
    if (this.#queue.closed) return;
    this.#link.unlisten(this.#name, this);
    // Conns still in the backlog are closed: their dialers read EOF, and their writes fail.
    this.#queue.close((conn) => conn.close());
  }
}

const links = new WeakMap<object, Link>();

/** This isolate's link over `endpoint`, made on first use. */
export function linkFor(endpoint: MessageEndpoint): Link {
  let link = links.get(endpoint);
  if (link === undefined) links.set(endpoint, link = new Link(endpoint));
  return link;
}
