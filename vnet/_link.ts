/**
 * One connection through a virtual network: the client's conn, the server's
 * end (a virtual conn, or a real conn a route dialed), and a pump each way
 * that moves the bytes and applies the faults in force. Private to `vnet/`.
 *
 * @module
 */

import type { Conn, NetAddr } from "../conn.ts";
import { ConnClosedError, ConnError } from "../errors.ts";
import { ByteQueue } from "../byte_queue.ts";
import { QueueConn } from "../queue_conn.ts";
import { delay } from "../_async/delay.ts";
import { noop } from "../_async/waiter.ts";
import { seededRandom } from "../testing/_random.ts";
import type { Hold } from "./_keep_alive.ts";
import { actsOn, type CheckedSpec, type FaultEvent } from "./faults.ts";

/** Which way bytes go: from the client to the server, or back. */
export type Way = FaultEvent["direction"];

/** A fault as the network holds it: its spec and whether it covers a link. */
export interface FaultEntry {
  readonly spec: CheckedSpec;
  readonly active: boolean;
  covers(link: Link): boolean;
}

/** What a link needs of its network. */
export interface LinkHost {
  readonly seed: number;
  /** The faults in force now. */
  faults(): readonly FaultEntry[];
  /** Settles at the next change of the faults in force. */
  changed(): Promise<void>;
  trace(event: FaultEvent): void;
  /** The link is done: both pumps ended. */
  forget(link: Link): void;
  /** A claim on the process for one end, as its socket would make. */
  hold(): Hold;
}

/** One end of a link, as a pump sees it. */
interface End {
  /** The next bytes this end's app wrote, `null` at its EOF; rejects once the end is torn down. */
  take(): Uint8Array | null | undefined | Promise<Uint8Array | null>;
  /** Hands bytes (owned) to this end's app; may wait for room. */
  give(chunk: Uint8Array): number | Promise<number>;
  /** Settles once this end's app has read everything given. */
  drained(): Promise<void>;
  /** EOF to this end's app after what was given. */
  end(): void;
  /** The other end is gone: this end's writes fail with `err`. */
  refuse(err: Error): void;
  /** Tears down: this end's reads fail with `err` after what was given, and its writes with `err`. */
  reset(err: Error): void;
  /** Hangs up: this end reads EOF after what was given, and its writes fail with `err`. */
  hangUp(err: Error): void;
  /** Called once both pumps are done. */
  done(): void;
}

const OWNED = Object.freeze({ owned: true });

/** An end whose app holds a {@linkcode QueueConn}: the pump works the conn's two queues. */
class QueueEnd implements End {
  readonly conn: QueueConn;
  #in: ByteQueue;
  #out: ByteQueue;
  #drained: (() => void)[] = [];

  constructor(localAddr: NetAddr, remoteAddr: NetAddr, window: number) {
    this.#in = new ByteQueue({ window, onRead: () => this.#wake() });
    this.#out = new ByteQueue({ window });
    this.conn = new QueueConn({ localAddr, remoteAddr, inbound: this.#in, outbound: this.#out });
  }

  take(): Uint8Array | null | undefined | Promise<Uint8Array | null> {
    try {
      const now = this.#out.readChunkNow();
      if (now !== undefined) return now;
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#out.readChunk();
  }

  give(chunk: Uint8Array): number | Promise<number> {
    return this.#in.writeNow(chunk, OWNED);
  }

  drained(): Promise<void> {
    if (this.#in.queued === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  #wake(): void {
    if (this.#in.queued === 0) { for (const resolve of this.#drained.splice(0)) resolve(); }
  }

  end(): void {
    void this.#in.closeWrite();
  }

  refuse(err: Error): void {
    this.#out.closeRead(err, err);
  }

  reset(err: Error): void {
    this.#in.abortWrite(err, err);
    this.hangUp(err);
  }

  hangUp(err: Error): void {
    void this.#in.closeWrite();
    this.#out.closeRead(err, err);
    for (const resolve of this.#drained.splice(0)) resolve();
  }

  done(): void {}
}

/** An end that is a real conn a route dialed. */
class ConnEnd implements End {
  #conn: Conn;
  #reader: ReadableStreamDefaultReader<Uint8Array>;

  constructor(conn: Conn) {
    this.#conn = conn;
    this.#reader = conn.readable.getReader();
  }

  take(): Promise<Uint8Array | null> {
    return this.#reader.read().then((r) => r.done ? null : r.value);
  }

  give(chunk: Uint8Array): Promise<number> {
    return this.#conn.write(chunk);
  }

  drained(): Promise<void> {
    return Promise.resolve();
  }

  end(): void {
    this.#conn.closeWrite().catch(noop);
  }

  refuse(): void {
    this.#conn.close();
  }

  reset(): void {
    this.#conn.close();
  }

  hangUp(): void {
    this.#conn.close();
  }

  done(): void {
    this.#conn.close();
  }
}

/** Where a link goes, for faults to match: the host key and port connected to. */
export interface LinkTarget {
  readonly host: string;
  readonly port: number;
}

/**
 * A link's state: `open`; `severed` once half-open (nothing moves, ever
 * again); `reset` once torn down by a fault; `closed` once hung up by the
 * network's disposal.
 */
type LinkState = "open" | "severed" | "reset" | "closed";

/**
 * One connection: the client's conn, the server's end, and the pumps.
 */
export class Link {
  readonly id: number;
  readonly target: LinkTarget;
  readonly client: QueueConn;
  /** The server's conn, when the server is virtual; `null` for a route to a real conn. */
  readonly server: QueueConn | null;
  /** Settles once both pumps ended. */
  readonly finished: Promise<void>;
  #host: LinkHost;
  #state: LinkState = "open";
  #clientEnd: QueueEnd;
  #serverEnd: End;
  #stop = new AbortController();
  #torn: Promise<void>;
  #counted = new Map<FaultEntry, number>();

  constructor(init: {
    id: number;
    host: LinkHost;
    target: LinkTarget;
    clientAddr: NetAddr;
    serverAddr: NetAddr;
    window: number;
    /** A real conn to pump to, for a route; otherwise the server end is virtual. */
    real?: Conn;
  }) {
    this.id = init.id;
    this.#host = init.host;
    const stopped = this.#stop.signal;
    this.#torn = new Promise((resolve) => stopped.addEventListener("abort", () => resolve(), { once: true }));
    this.target = init.target;
    this.#clientEnd = new QueueEnd(init.clientAddr, init.serverAddr, init.window);
    this.client = this.#clientEnd.conn;
    if (init.real) {
      this.#serverEnd = new ConnEnd(init.real);
      this.server = null;
    } else {
      const serverEnd = new QueueEnd(init.serverAddr, init.clientAddr, init.window);
      this.#serverEnd = serverEnd;
      this.server = serverEnd.conn;
    }
    const random = (way: number) => seededRandom((init.host.seed ^ Math.imul(init.id, 0x9e3779b1)) + way);
    const holds = [this.#hold(this.client), ...(this.server ? [this.#hold(this.server)] : [])];
    this.finished = Promise.all([
      this.#pump("toServer", this.#clientEnd, this.#serverEnd, random(0)),
      this.#pump("toClient", this.#serverEnd, this.#clientEnd, random(1)),
    ]).then(() => {
      for (const hold of holds) hold.release();
      this.#serverEnd.done();
      this.#host.forget(this);
    });
  }

  /** Keeps the process alive while the link is open, unless `conn.unref()` (which sockets have) says not to. */
  #hold(conn: QueueConn): Hold {
    const hold = this.#host.hold();
    Object.defineProperties(conn, {
      ref: { value: () => hold.ref(), configurable: true },
      unref: { value: () => hold.unref(), configurable: true },
    });
    return hold;
  }

  /** Whether the link was reset or severed. */
  get state(): LinkState {
    return this.#state;
  }

  /**
   * Hangs up on both ends, as a server going away does: each reads EOF
   * after what it was given, and its writes fail naming `detail`.
   */
  close(detail: string): void {
    if (this.#state === "reset" || this.#state === "closed") return;
    this.#state = "closed";
    this.#stop.abort();
    this.#clientEnd.hangUp(
      new ConnClosedError({ op: "write", addr: `tcp:${this.client.remoteAddr.address}`, detail }),
    );
    this.#serverEnd.hangUp(
      new ConnClosedError({ op: "write", addr: `tcp:${this.client.localAddr.address}`, detail }),
    );
  }

  /** Tears the link down: both ends' reads and writes fail with a reset naming `detail`. */
  reset(detail: string): void {
    if (this.#state === "reset" || this.#state === "closed") return;
    this.#state = "reset";
    this.#stop.abort();
    const reset = (addr: NetAddr) =>
      new ConnError({
        code: "ECONNRESET",
        summary: "connection reset by peer",
        op: "read",
        addr: `tcp:${addr.address}`,
        detail,
      });
    this.#clientEnd.reset(reset(this.client.remoteAddr as NetAddr));
    this.#serverEnd.reset(reset(this.client.localAddr as NetAddr));
  }

  /** Cuts the link without a word: nothing moves any more. */
  sever(): void {
    if (this.#state === "open") this.#state = "severed";
  }

  /** Applies the faults that act at once (a reset or half-open after 0 bytes). */
  applyNow(): void {
    for (const fault of this.#host.faults()) {
      const { spec } = fault;
      if ((spec.type !== "reset" && spec.type !== "halfOpen") || (spec.afterBytes ?? 0) > 0) continue;
      if (!fault.covers(this)) continue;
      this.#trigger(fault, "toServer", 0);
    }
  }

  async #pump(way: Way, from: End, to: End, random: () => number): Promise<void> {
    while (true) {
      let chunk: Uint8Array | null | undefined;
      try {
        const taken = from.take();
        chunk = taken instanceof Promise ? await taken : taken;
      } catch (err) {
        // This end was torn down, or a real conn broke: the link is reset.
        if (this.#state !== "reset") {
          this.reset(`the ${way === "toServer" ? "client" : "server"} end broke: ${err}`);
        }
        return;
      }
      if (chunk === undefined) continue;
      if ((this.#state !== "open" || this.#blocked(way)) && !await this.#flowing(way)) return;
      if (chunk === null) return to.end();
      try {
        if (this.#host.faults().length === 0) {
          // No fault anywhere: hand the chunk over, without a promise when it fits.
          const given = to.give(chunk);
          if (typeof given !== "number") await given;
        } else if (!await this.#deliver(way, chunk, to, random)) {
          return;
        }
      } catch (err) {
        if (this.#state === "reset" || this.#state === "closed") return;
        // The receiving app closed: the sender's writes now fail, like EPIPE.
        from.refuse(
          err instanceof ConnClosedError
            ? err
            : new ConnClosedError({ op: "write", detail: "closed by peer" }),
        );
        return;
      }
    }
  }

  /** Resolves `true` once bytes may move `way`, `false` if the link is reset meanwhile. */
  async #flowing(way: Way): Promise<boolean> {
    while (true) {
      if (this.#state === "reset" || this.#state === "closed") return false;
      if (this.#state === "open" && !this.#blocked(way)) return true;
      await Promise.race([this.#host.changed(), this.#torn]);
    }
  }

  #blocked(way: Way): boolean {
    for (const fault of this.#host.faults()) {
      const { spec } = fault;
      if (spec.type === "partition" || (spec.type === "stall" && actsOn(spec.direction, way))) {
        if (fault.covers(this)) return true;
      }
    }
    return false;
  }

  /** Delivers a chunk through the faults in force; `false` if a fault ended the link. */
  async #deliver(way: Way, chunk: Uint8Array, to: End, random: () => number): Promise<boolean> {
    const faults = this.#host.faults().filter((f) =>
      f.spec.type !== "partition" && f.spec.type !== "stall" && actsOn(f.spec.direction, way) &&
      f.covers(this)
    );
    if (faults.length === 0) {
      const given = to.give(chunk);
      if (typeof given !== "number") await given;
      return true;
    }
    // A reset or half-open due within this chunk cuts it there.
    let trigger: FaultEntry | null = null;
    let limit = chunk.byteLength;
    for (const fault of faults) {
      const { spec } = fault;
      if (spec.type !== "reset" && spec.type !== "halfOpen") continue;
      const left = Math.max(0, (spec.afterBytes ?? 0) - (this.#counted.get(fault) ?? 0));
      if (left < limit || (left === limit && trigger === null && left < chunk.byteLength)) {
        limit = left;
        trigger = fault;
      }
    }
    for (const fault of faults) {
      if (fault.spec.type === "reset" || fault.spec.type === "halfOpen") {
        this.#counted.set(fault, (this.#counted.get(fault) ?? 0) + limit);
      }
    }
    const bytes = chunk.subarray(0, limit);
    const signal = this.#stop.signal;
    for (const fault of faults) {
      if (fault.spec.type !== "latency") continue;
      const { ms, jitter = 0 } = fault.spec;
      const wait = Math.max(0, Math.round(ms + (jitter > 0 ? (random() * 2 - 1) * jitter : 0)));
      this.#host.trace({ connection: this.id, direction: way, type: "latency", value: wait });
      await delay(wait, signal);
    }
    await this.#give(way, bytes, to, faults, random);
    if (trigger !== null) {
      this.#trigger(trigger, way, this.#counted.get(trigger) ?? 0);
      return false;
    }
    return true;
  }

  /** Gives `bytes` in the pieces that slicing and bandwidth call for. */
  async #give(
    way: Way,
    bytes: Uint8Array,
    to: End,
    faults: FaultEntry[],
    random: () => number,
  ): Promise<void> {
    const signal = this.#stop.signal;
    let slice: Extract<CheckedSpec, { type: "slice" }> | null = null;
    let rate = Infinity;
    for (const { spec } of faults) {
      if (spec.type === "slice") slice = spec;
      if (spec.type === "bandwidth") rate = Math.min(rate, spec.bytesPerSecond);
    }
    const piece = rate === Infinity ? Infinity : Math.max(1, Math.floor(rate / 20));
    let at = 0;
    while (at < bytes.byteLength) {
      let size = Math.min(piece, bytes.byteLength - at);
      if (slice !== null) {
        const { averageSize, variation = 0 } = slice;
        const drawn = Math.max(1, Math.round(averageSize + (random() * 2 - 1) * variation));
        size = Math.min(size, drawn);
        this.#host.trace({ connection: this.id, direction: way, type: "slice", value: size });
      }
      const given = to.give(bytes.subarray(at, at + size));
      if (typeof given !== "number") await given;
      at += size;
      if (slice !== null) {
        // Each piece is read on its own: the next waits until the reader took this one.
        await to.drained();
        if (this.#state === "reset" || this.#state === "closed") {
          throw new ConnClosedError({ op: "write", detail: this.#state });
        }
        if (slice.delayMs) await delay(slice.delayMs, signal);
      }
      if (rate !== Infinity) {
        const wait = Math.round(size / rate * 1000);
        this.#host.trace({ connection: this.id, direction: way, type: "bandwidth", value: wait });
        await delay(wait, signal);
      }
    }
  }

  #trigger(fault: FaultEntry, way: Way, count: number): void {
    const { spec } = fault;
    this.#host.trace({ connection: this.id, direction: way, type: spec.type, value: count });
    if (spec.type === "reset") {
      this.reset(`a reset fault of the virtual network, after ${count} bytes (seed ${this.#host.seed})`);
    } else {
      this.sever();
    }
  }
}
