/**
 * The virtual network behind `Deno.connect`, `Deno.listen` and the TLS
 * calls: conns and listeners shaped like `Deno.TcpConn` and
 * `Deno.TcpListener`, failing with Deno's own error classes, since the code
 * under test catches those. Private to `vnet/`.
 *
 * @module
 */

import type { QueueConn } from "../queue_conn.ts";
import { ConnError } from "../errors.ts";
import { describe } from "../_validate.ts";
import type { Network } from "./_network.ts";
import type { VirtualListener } from "./_holders.ts";
import { hostPort } from "./_names.ts";

type DenoErrorClass = new (message?: string, options?: ErrorOptions) => Error;

/** Deno's error class for each code tether uses, with the code Deno's own errors carry. */
const DENO_ERRORS: Record<string, [keyof typeof Deno.errors, string | undefined]> = {
  ECONNREFUSED: ["ConnectionRefused", "ECONNREFUSED"],
  EBACKLOG: ["ConnectionRefused", "ECONNREFUSED"],
  EADDRINUSE: ["AddrInUse", "EADDRINUSE"],
  ECONNRESET: ["ConnectionReset", "ECONNRESET"],
  EPIPE: ["BrokenPipe", "EPIPE"],
  ETIMEDOUT: ["TimedOut", "ETIMEDOUT"],
  ECANCELED: ["Interrupted", "EINTR"],
};

/** A Deno error of class `name` with `message`, the `code` Deno gives it, and `cause`. */
export function denoError(
  name: keyof typeof Deno.errors,
  message: string,
  cause?: unknown,
  code?: string,
): Error {
  const ErrorClass = Deno.errors[name] as DenoErrorClass;
  const err = new ErrorClass(message, cause === undefined ? undefined : { cause });
  if (code !== undefined) {
    Object.defineProperty(err, "code", { value: code, enumerable: true, configurable: true });
  }
  return err;
}

/** What a tether error is at Deno's surface: the Deno class its code names, with it as the cause. */
export function toDenoError(err: unknown): unknown {
  if (!(err instanceof ConnError)) return err;
  const mapped = DENO_ERRORS[err.code];
  if (mapped === undefined) return err;
  return denoError(mapped[0], err.message, err, mapped[1]);
}

/** A `Deno.NetAddr`: a null-prototype object, as Deno makes them. */
export function denoAddr(addr: { hostname?: string; port?: number }): Deno.NetAddr {
  const out = Object.create(null);
  out.hostname = addr.hostname;
  out.port = addr.port;
  out.transport = "tcp";
  return out;
}

function badResource(message = "Bad resource ID"): Error {
  return denoError("BadResource", message);
}

/**
 * A virtual connection shaped like `Deno.TcpConn`: `read` and `write`,
 * `closeWrite`, `close` (a second close throws `BadResource`, as Deno's
 * does), `readable`/`writable` that close the conn when they end (as
 * Deno's do), and `setNoDelay`/`setKeepAlive`/`ref`/`unref`, which have
 * nothing to do in memory.
 */
export class VirtualTcpConn implements Deno.TcpConn {
  readonly localAddr: Deno.NetAddr;
  readonly remoteAddr: Deno.NetAddr;
  #conn: QueueConn;
  #state: "open" | "closed" = "open";
  #readable: ReadableStream<Uint8Array<ArrayBuffer>> | undefined;
  #writable: WritableStream<Uint8Array<ArrayBufferLike>> | undefined;

  constructor(conn: QueueConn) {
    this.#conn = conn;
    this.localAddr = denoAddr(conn.localAddr);
    this.remoteAddr = denoAddr(conn.remoteAddr);
  }

  /** @internal The tether conn underneath. */
  get conn(): QueueConn {
    return this.#conn;
  }

  read(p: Uint8Array): Promise<number | null> {
    if (this.#state === "closed") return Promise.reject(badResource());
    return this.#conn.read(p).catch((err) => {
      throw this.#error(err);
    });
  }

  write(p: Uint8Array): Promise<number> {
    if (this.#state === "closed") return Promise.reject(badResource());
    return this.#conn.write(p).catch((err) => {
      throw this.#error(err);
    });
  }

  closeWrite(): Promise<void> {
    if (this.#state === "closed") return Promise.reject(badResource());
    return this.#conn.closeWrite();
  }

  close(): void {
    if (this.#state === "closed") throw badResource();
    this.#state = "closed";
    this.#conn.close();
  }

  /** What a call pending when the conn closed rejects with, or the tether error in Deno's terms. */
  #error(err: unknown): unknown {
    if (this.#state === "closed") return denoError("Interrupted", "operation canceled", err, "EINTR");
    return toDenoError(err);
  }

  #tryClose(): void {
    if (this.#state === "open") this.close();
  }

  setNoDelay(_noDelay?: boolean): void {}
  setKeepAlive(_keepAlive?: boolean): void {}

  /** Keeps the process alive while the conn is open (the default), as a socket does. */
  ref(): void {
    (this.#conn as { ref?(): void }).ref?.();
  }

  /** Lets the process end while the conn is open. */
  unref(): void {
    (this.#conn as { unref?(): void }).unref?.();
  }

  /** Bytes from the peer; like Deno's, it closes the conn once it ends or is cancelled. */
  get readable(): ReadableStream<Uint8Array<ArrayBuffer>> {
    return this.#readable ??= new ReadableStream({
      type: "bytes",
      autoAllocateChunkSize: 64 * 1024,
      pull: async (controller) => {
        const request = controller.byobRequest!;
        const view = request.view!;
        let n: number | null;
        try {
          n = await this.read(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
        } catch (err) {
          this.#tryClose();
          throw err;
        }
        if (n === null) {
          this.#tryClose();
          controller.close();
          request.respond(0);
        } else {
          request.respond(n);
        }
      },
      cancel: () => this.#tryClose(),
    });
  }

  /** Bytes to the peer; like Deno's, closing or aborting it closes the conn. */
  get writable(): WritableStream<Uint8Array<ArrayBufferLike>> {
    return this.#writable ??= new WritableStream({
      write: async (chunk) => {
        await this.write(chunk);
      },
      close: () => this.#tryClose(),
      abort: () => this.#tryClose(),
    });
  }

  [Symbol.dispose](): void {
    this.#tryClose();
  }
}

/**
 * A virtual listener shaped like `Deno.TcpListener`: `accept()`, `close()`
 * (twice throws `BadResource`), and a `for await` that ends when it closes.
 */
export class VirtualDenoListener implements Deno.TcpListener {
  readonly addr: Deno.NetAddr;
  #listener: VirtualListener;
  #network: Network;

  constructor(network: Network, listener: VirtualListener) {
    this.#network = network;
    this.#listener = listener;
    this.addr = denoAddr(listener.addr);
  }

  accept(): Promise<VirtualTcpConn> {
    if (this.#listener.closed) return Promise.reject(badResource("Listener has been closed"));
    return this.#listener.accept().then(
      (conn) => this.#wrap(conn),
      (err) => {
        throw this.#listener.closed ? badResource("Listener has been closed") : toDenoError(err);
      },
    );
  }

  #wrap(conn: QueueConn): VirtualTcpConn {
    const wrapped = new VirtualTcpConn(conn);
    this.#network.alias(wrapped, conn);
    return wrapped;
  }

  close(): void {
    if (this.#listener.closed) throw badResource();
    this.#listener.close();
  }

  async *[Symbol.asyncIterator](): AsyncIterableIterator<VirtualTcpConn> {
    while (true) {
      try {
        yield await this.accept();
      } catch (err) {
        if (err instanceof Deno.errors.BadResource || err instanceof Deno.errors.Interrupted) return;
        throw err;
      }
    }
  }

  ref(): void {
    this.#listener.ref();
  }

  unref(): void {
    this.#listener.unref();
  }

  [Symbol.dispose](): void {
    if (!this.#listener.closed) this.#listener.close();
  }
}

/** The originals the patches fall back to. */
export interface DenoOriginals {
  connect: typeof Deno.connect;
  listen: typeof Deno.listen;
  connectTls: typeof Deno.connectTls;
  listenTls: typeof Deno.listenTls;
  startTls: typeof Deno.startTls;
}

/** `Deno.connect` on the virtual network: TCP goes virtual, or out where passthrough allows; Unix goes to the original. */
export function patchedConnect(network: Network, originals: DenoOriginals): typeof Deno.connect {
  return async function connect(options: Deno.ConnectOptions | Deno.UnixConnectOptions) {
    if (options === null || typeof options !== "object") {
      throw new TypeError(`Deno.connect() takes an options object, got ${describe(options)}`);
    }
    if (options.transport !== undefined && options.transport !== "tcp") {
      return await (originals.connect as (o: unknown) => Promise<Deno.Conn>)(options);
    }
    const { hostname = "127.0.0.1", port, signal } = options as Deno.ConnectOptions;
    const resolution = network.resolve(hostname, port, "tcp", "Deno.connect");
    if (resolution.kind === "passthrough") return await originals.connect(options as Deno.ConnectOptions);
    if (resolution.kind === "refused") throw toDenoError(resolution.error);
    if (signal?.aborted) throw signal.reason;
    const conn = await network.dial(resolution.place, { signal }).catch((err) => {
      throw signal?.aborted ? signal.reason : toDenoError(err);
    });
    const wrapped = new VirtualTcpConn(conn);
    network.alias(wrapped, conn);
    return wrapped;
  } as typeof Deno.connect;
}

/** `Deno.listen` on the virtual network: TCP listens virtually; Unix goes to the original. */
export function patchedListen(network: Network, originals: DenoOriginals): typeof Deno.listen {
  return function listen(options: Deno.TcpListenOptions | Deno.UnixListenOptions) {
    if (options === null || typeof options !== "object") {
      throw new TypeError(`Deno.listen() takes an options object, got ${describe(options)}`);
    }
    const transport = (options as { transport?: string }).transport;
    if (transport !== undefined && transport !== "tcp") {
      return (originals.listen as (o: unknown) => Deno.Listener)(options);
    }
    const { hostname = "0.0.0.0", port = 0, tcpBacklog = 511 } = options as Deno.TcpListenOptions;
    try {
      const listener = network.listen(hostname, port, tcpBacklog, "Deno.listen");
      return new VirtualDenoListener(network, listener);
    } catch (err) {
      throw toDenoError(err);
    }
  } as typeof Deno.listen;
}

/** Why TLS does not go on the virtual network, for the error naming the host. */
function tlsRefusal(network: Network, fn: string, hostname: string, port: number): Error {
  const where = hostPort(hostname, port);
  if (network.holds(hostname, port)) {
    return denoError(
      "NotSupported",
      `${fn} ${where}: the virtual network does not speak TLS; a virtual listener is there, ` +
        "so connect in plain TCP (Deno.connect, http://) in tests, or let the host through with passthrough",
    );
  }
  return denoError(
    "ConnectionRefused",
    `${fn} ${where}: connection refused: nothing listens there on the virtual network, which does not speak TLS ` +
      "(let the host through with the passthrough option to reach a real TLS server)",
    undefined,
    "ECONNREFUSED",
  );
}

/** `Deno.connectTls`: out where passthrough allows, else a clear error naming the host. */
export function patchedConnectTls(network: Network, originals: DenoOriginals): typeof Deno.connectTls {
  return async function connectTls(options: Deno.ConnectTlsOptions) {
    const { hostname = "127.0.0.1", port = 443 } = options ?? {};
    if (network.allowsOut({ hostname: hostname.toLowerCase(), port, protocol: "tls" })) {
      return await originals.connectTls(options);
    }
    throw tlsRefusal(network, "Deno.connectTls", hostname, port);
  } as typeof Deno.connectTls;
}

/** `Deno.listenTls`: the original where passthrough allows the address, else `NotSupported`. */
export function patchedListenTls(network: Network, originals: DenoOriginals): typeof Deno.listenTls {
  return function listenTls(options: Deno.ListenTlsOptions & Deno.TlsCertifiedKeyPem) {
    const { hostname = "0.0.0.0", port = 443 } = options ?? {};
    if (network.allowsOut({ hostname: hostname.toLowerCase(), port, protocol: "tls" })) {
      return originals.listenTls(options);
    }
    throw denoError(
      "NotSupported",
      `Deno.listenTls ${hostPort(hostname, port)}: the virtual network does not speak TLS; ` +
        "listen with Deno.listen in tests, or let the address through with passthrough",
    );
  } as typeof Deno.listenTls;
}

/** `Deno.startTls`: refuses a virtual conn clearly; other conns go to the original. */
export function patchedStartTls(originals: DenoOriginals): typeof Deno.startTls {
  return async function startTls(conn: Deno.TcpConn, options?: Deno.StartTlsOptions) {
    if (conn instanceof VirtualTcpConn) {
      const { hostname, port } = conn.remoteAddr;
      throw denoError(
        "NotSupported",
        `Deno.startTls ${hostPort(hostname, port)}: the virtual network does not speak TLS; ` +
          "keep the conn in plain TCP in tests",
      );
    }
    return await originals.startTls(conn, options);
  } as typeof Deno.startTls;
}
