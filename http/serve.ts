/**
 * {@linkcode serveHttp}: a `Deno.serve`-shaped handler served over any
 * tether {@linkcode Listener}, with HTTP/1.1 spoken by Node's own
 * `http.Server` (the llhttp parser) over each conn.
 *
 * @example
 * ```ts
 * import { listen } from "@tether/tether";
 * import { serveHttp } from "@tether/tether/http";
 *
 * await using server = serveHttp(listen({ transport: "memory" }), () => new Response("hi"));
 * console.log(await (await server.fetch("http://test/")).text()); // "hi"
 * ```
 *
 * @module
 */

import http from "node:http";
import type { Addr, Conn } from "../conn.ts";
import { formatAddr } from "../conn.ts";
import type { Dialer, Listener } from "../listener.ts";
import { ConnClosedError, ConnError } from "../errors.ts";
import { noop, onAbort, waiter } from "../_async/waiter.ts";
import { checkOptions, describe } from "../_validate.ts";
import { type ConnSocket, toDuplex } from "../node/socket.ts";
import { BadRequest, LazySignal, toRequest, writeResponse } from "./_exchange.ts";
import { lazyText } from "./_body.ts";
import { createFetch, type Fetcher } from "./fetch.ts";

/**
 * What a handler learns besides the request, as `Deno.ServeHandlerInfo`.
 *
 * @example
 * ```ts
 * import type { HttpHandlerInfo } from "@tether/tether/http";
 *
 * function log(request: Request, info: HttpHandlerInfo): void {
 *   info.completed.then(() => console.log(request.method, request.url, "from", info.remoteAddr.address));
 * }
 * ```
 */
export interface HttpHandlerInfo {
  /** The client's end of the conn. */
  readonly remoteAddr: Addr;
  /** The server's end of the conn. */
  readonly localAddr: Addr;
  /** Settles once the response was sent, or the client left first; never rejects. */
  readonly completed: Promise<void>;
}

/**
 * A request handler, with the shape `Deno.serve` takes.
 *
 * @example
 * ```ts
 * import type { HttpHandler } from "@tether/tether/http";
 *
 * const handler: HttpHandler = (request) => Response.json({ path: new URL(request.url).pathname });
 * ```
 */
export type HttpHandler = (request: Request, info: HttpHandlerInfo) => Response | Promise<Response>;

/**
 * Options of {@linkcode serveHttp}.
 *
 * @example
 * ```ts
 * import { listen } from "@tether/tether";
 * import { serveHttp, type ServeHttpOptions } from "@tether/tether/http";
 *
 * const controller = new AbortController();
 * const options: ServeHttpOptions = {
 *   signal: controller.signal,
 *   onError: (err) => new Response(`oops: ${err}`, { status: 500 }),
 * };
 * const server = serveHttp(listen({ transport: "memory" }), () => Promise.reject("boom"), options);
 * console.log(await (await server.fetch("http://x/")).text()); // "oops: boom"
 * controller.abort(); // a graceful shutdown
 * await server.finished;
 * ```
 */
export interface ServeHttpOptions {
  /** Aborting it shuts the server down gracefully, as `shutdown()` does. */
  signal?: AbortSignal;
  /**
   * Makes the response for a handler that threw or rejected (or returned
   * something other than a `Response`). By default the error is logged with
   * `console.error` and the answer is a plain 500, as with `Deno.serve`.
   */
  onError?: (error: unknown) => Response | Promise<Response>;
}

/**
 * A running server. `shutdown()` (also `await using`, or the `signal`
 * option) stops accepting, lets the requests in flight finish, then closes
 * every conn.
 *
 * @example
 * ```ts
 * import { connect, listen } from "@tether/tether";
 * import { createFetch, type HttpServer, serveHttp } from "@tether/tether/http";
 *
 * const dir = await Deno.makeTempDir();
 * const path = `${dir}/api.sock`;
 * const server: HttpServer = serveHttp(await listen({ transport: "unix", path }), () => new Response("ok"));
 * await using fetch = createFetch({ transport: "unix", path });
 * console.log((await fetch("http://api/")).status); // 200
 * await server.shutdown();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export interface HttpServer extends AsyncDisposable {
  /** The address served on: the listener's. */
  readonly addr: Addr;
  /** Settles once the server has shut down and every conn is closed. */
  readonly finished: Promise<void>;
  /**
   * Stops accepting (closing the listener), closes idle conns, lets the
   * requests in flight finish (each conn closes after its last response),
   * and resolves once all conns are closed. Idempotent.
   */
  shutdown(): Promise<void>;
  /** Stops at once: closes the listener and every conn; requests in flight see their signal abort. */
  close(): void;
}

/**
 * A server on a listener that hands out a `dialer()`: it also has a `fetch`
 * over that dialer. On a memory listener the dialer reaches the listener
 * itself, so `fetch` reaches this server: the one-liner a test wants. (A
 * mux session's dialer opens streams to its peer: there `fetch` reaches the
 * peer's server.)
 *
 * @example
 * ```ts
 * import { listen } from "@tether/tether";
 * import { type HttpFixture, serveHttp } from "@tether/tether/http";
 *
 * await using fixture: HttpFixture = serveHttp(listen({ transport: "memory" }), (req) =>
 *   Response.json({ method: req.method })
 * );
 * const res = await fixture.fetch("http://fixture/", { method: "POST" });
 * console.log(await res.json()); // { method: "POST" }
 * ```
 */
export interface HttpFixture extends HttpServer {
  /**
   * A `fetch` whose every request goes over a conn from the listener's own
   * `dialer()` (on a memory listener: to this server), whatever the URL's
   * host (which only fills the Host header). Closed with the server.
   */
  readonly fetch: Fetcher;
}

/**
 * Serves `handler` on every conn `listener` accepts: HTTP/1.1 with
 * keep-alive and pipelining, streamed bodies both ways, parsed by Node's
 * `http.Server` (llhttp) over each conn. The server owns the listener:
 * shutting down closes it.
 *
 * Like `Deno.serve`: the request URL is `http://` + Host + path;
 * `request.signal` aborts when the client leaves before the response is
 * sent; a handler that throws gets `onError`'s response (a 500 by
 * default); a body that is all there goes with a `Content-Length`, a body
 * still being produced is streamed (chunked) at the pace the client reads.
 * A malformed request gets a 400 and that conn is closed; the server
 * carries on. A response body that errors midway closes its conn (the
 * client sees a truncated response).
 *
 * On a listener with a `dialer()`, the result is an {@linkcode HttpFixture},
 * whose `fetch` goes over that dialer: on a memory listener, to this server.
 *
 * @example Testing a handler with no port opened
 * ```ts
 * import { listen } from "@tether/tether";
 * import { serveHttp } from "@tether/tether/http";
 *
 * const handler = (req: Request) =>
 *   new URL(req.url).pathname === "/hello" ? Response.json({ hello: "world" }) : new Response("no", { status: 404 });
 * await using fixture = serveHttp(listen({ transport: "memory" }), handler);
 * console.log(await (await fixture.fetch("http://app/hello")).json()); // { hello: "world" }
 * console.log((await fixture.fetch("http://app/other")).status); // 404
 * ```
 */
export function serveHttp(
  listener: Listener & { dialer(): Dialer },
  handler: HttpHandler,
  options?: ServeHttpOptions,
): HttpFixture;
/**
 * Serves `handler` on a listener of any transport: Unix, TCP, named pipe, or
 * one of your own. See the overload above for what serving means.
 *
 * @example Over TCP
 * ```ts
 * import { listen } from "@tether/tether";
 * import { serveHttp } from "@tether/tether/http";
 *
 * const listener = await listen({ transport: "tcp", hostname: "127.0.0.1", port: 0 });
 * await using server = serveHttp(listener, () => new Response("over TCP"));
 * console.log(await (await fetch(`http://127.0.0.1:${server.addr.port}/`)).text()); // "over TCP"
 * ```
 */
export function serveHttp(listener: Listener, handler: HttpHandler, options?: ServeHttpOptions): HttpServer;
export function serveHttp(
  listener: Listener,
  handler: HttpHandler,
  options: ServeHttpOptions = {},
): HttpServer {
  checkOptions(options, "serveHttp");
  if (typeof listener !== "object" || listener === null || typeof listener.close !== "function") {
    throw new TypeError(`serveHttp() takes a Listener, got ${describe(listener)}`);
  }
  if (typeof handler !== "function") {
    throw new TypeError(`serveHttp() takes a handler function, got ${describe(handler)}`);
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new TypeError(`signal must be an AbortSignal, got ${describe(options.signal)}`);
  }
  if (options.onError !== undefined && typeof options.onError !== "function") {
    throw new TypeError(`onError must be a function, got ${describe(options.onError)}`);
  }
  return new Server(listener, handler, options);
}

/** What the server keeps per conn. */
interface Served {
  readonly conn: Conn;
  /** Requests received on it whose response is not done. */
  inFlight: number;
}

function defaultOnError(error: unknown): Response {
  console.error("serveHttp: the handler failed:", error);
  return new Response("Internal Server Error", { status: 500 });
}

class Server implements HttpFixture {
  readonly addr: Addr;
  readonly finished: Promise<void>;
  #listener: Listener;
  #handler: HttpHandler;
  #onError: (error: unknown) => Response | Promise<Response>;
  #node: http.Server;
  #sockets = new Map<ConnSocket, Served>();
  /** `serving`; `draining` once shut down while requests are in flight; `closed` when all is done. */
  #state: "serving" | "draining" | "closed" = "serving";
  #allClosed = waiter<void>();
  #fetch: Fetcher | null = null;
  #detachSignal: () => void;

  constructor(listener: Listener, handler: HttpHandler, options: ServeHttpOptions) {
    this.addr = listener.addr;
    this.#listener = listener;
    this.#handler = handler;
    this.#onError = options.onError ?? defaultOnError;
    const node = this.#node = http.createServer({ requireHostHeader: false } as http.ServerOptions);
    // Node's server closes each conn after its response unless it is "listening": a stand-in
    // handle says it is, and lets close() stop its timers (the header and request timeouts).
    (node as unknown as { _handle: unknown })._handle = { close() {}, ref() {}, unref() {} };
    node.emit("listening");
    node.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => void this.#serve(req, res));
    node.on(
      "clientError",
      (err: Error & { code?: string }, socket: ConnSocket) => this.#clientError(err, socket),
    );
    this.#detachSignal = onAbort(options.signal, () => void this.shutdown());
    this.finished = this.#run();
    // A listener that breaks is logged, and rejects `finished` for whoever awaits it; it never crashes the process.
    this.finished.catch(noop);
    if (options.signal?.aborted) void this.shutdown();
  }

  get fetch(): Fetcher {
    if (this.#fetch === null) {
      const listener = this.#listener as Partial<Listener & { dialer(): Dialer }>;
      if (typeof listener.dialer !== "function") {
        throw new TypeError(
          `a server on ${
            formatAddr(this.addr)
          } has no fetch: its listener has no dialer(); use createFetch() with connect options`,
        );
      }
      this.#fetch = createFetch(listener.dialer());
    }
    return this.#fetch;
  }

  async #run(): Promise<void> {
    let failure: unknown = null;
    try {
      for await (const conn of this.#listener) this.#accept(conn);
    } catch (err) {
      failure = err;
    }
    // The listener ended: closed by shutdown(), or broken.
    if (this.#state === "serving") this.#beginShutdown();
    if (this.#sockets.size > 0) await this.#allClosed.promise;
    this.#state = "closed";
    this.#detachSignal();
    this.#fetch?.close();
    if (failure !== null) {
      console.error(
        `serveHttp: the listener on ${formatAddr(this.addr)} failed; the server stopped:`,
        failure,
      );
      throw failure;
    }
  }

  #accept(conn: Conn): void {
    if (this.#state !== "serving") return conn.close();
    const socket = toDuplex(conn, { allowHalfOpen: true });
    this.#sockets.set(socket, { conn, inFlight: 0 });
    socket.once("close", () => {
      this.#sockets.delete(socket);
      if (this.#sockets.size === 0 && this.#state !== "serving") this.#allClosed.resolve();
    });
    this.#node.emit("connection", socket);
  }

  async #serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const socket = req.socket as unknown as ConnSocket;
    const served = this.#sockets.get(socket);
    if (served === undefined) return void res.destroy(); // Its conn closed already.
    served.inFlight++;
    const remote = served.conn.remoteAddr;
    const aborter = new LazySignal();
    const completed = waiter<void>();
    res.once("close", () => {
      served.inFlight--;
      if (!res.writableFinished) {
        aborter.abort(
          new ConnClosedError({
            op: "respond",
            addr: formatAddr(remote),
            detail: "the client left before the response",
          }),
        );
      }
      completed.resolve();
    });
    let request: Request;
    try {
      request = await toRequest(req, { local: this.addr, remote, signal: aborter });
    } catch (err) {
      const status = err instanceof BadRequest ? err.status : 400;
      res.writeHead(status, { "content-type": "text/plain; charset=utf-8", connection: "close" });
      res.end(`${http.STATUS_CODES[status]}: ${(err as Error).message}\n`);
      return;
    }
    const info: HttpHandlerInfo = {
      remoteAddr: remote,
      localAddr: served.conn.localAddr,
      completed: completed.promise,
    };
    const response = await this.#respond(request, info, res);
    if (response === null || res.destroyed) {
      await response?.body?.cancel().catch(() => {});
      return;
    }
    // Shut down while the handler ran: this is the conn's last response.
    if (this.#state !== "serving") res.shouldKeepAlive = false;
    try {
      await writeResponse(res, response, request.method === "HEAD");
    } catch {
      // The body failed midway: the client must not take a cut response for a whole one.
      res.destroy();
    }
  }

  /** The handler's response, or `onError`'s; `null` when it failed because the client left (nobody to answer). */
  async #respond(
    request: Request,
    info: HttpHandlerInfo,
    res: http.ServerResponse,
  ): Promise<Response | null> {
    try {
      const response = await this.#handler(request, info);
      if (!(response instanceof Response)) {
        throw new TypeError(`the handler must return a Response, got ${describe(response)}`);
      }
      // (A body Deno still holds as text was not read; asking `bodyUsed` first would make it a stream.)
      if (lazyText(response) === undefined && (response.bodyUsed || response.body?.locked)) {
        throw new TypeError("the handler returned a Response whose body was already read");
      }
      return response;
    } catch (err) {
      if (res.destroyed) return null;
      try {
        const response = await this.#onError(err);
        if (response instanceof Response) return response;
        console.error(`serveHttp: onError must return a Response, got ${describe(response)}`);
      } catch (secondError) {
        console.error("serveHttp: onError failed:", secondError);
      }
      return new Response("Internal Server Error", { status: 500 });
    }
  }

  /** A request the parser refused: answer 400 (or 431, 408) where nothing was sent yet, then close that conn. */
  #clientError(err: Error & { code?: string }, socket: ConnSocket): void {
    const gone = err instanceof ConnError; // the conn itself failed: nobody to answer
    if (
      !gone && socket.writable &&
      !(socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent
    ) {
      const status = err.code === "HPE_HEADER_OVERFLOW"
        ? 431
        : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? 408
        : 400;
      const text = `${http.STATUS_CODES[status]}\n`;
      socket.end(
        `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: text/plain\r\n` +
          `Content-Length: ${text.length}\r\nConnection: close\r\n\r\n${text}`,
      );
      socket.destroySoon();
    } else {
      socket.destroy();
    }
  }

  #beginShutdown(): void {
    this.#state = "draining";
    this.#listener.close();
    // The stand-in handle goes, so responses that finish from now on close their conn; the timers stop.
    this.#node.close();
    for (const [socket, served] of this.#sockets) {
      if (served.inFlight === 0) socket.destroy();
    }
    if (this.#sockets.size === 0) this.#allClosed.resolve();
  }

  shutdown(): Promise<void> {
    if (this.#state === "serving") this.#beginShutdown();
    return this.finished;
  }

  close(): void {
    if (this.#state === "serving") this.#beginShutdown();
    for (const socket of this.#sockets.keys()) socket.destroy();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}
