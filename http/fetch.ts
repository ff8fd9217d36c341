/**
 * {@linkcode createFetch}: a function with `fetch`'s shape whose requests go
 * over tether conns (memory, Unix, TCP, named pipes, `secure()` conns, a
 * mux session), with HTTP/1.1 answers read by Node's own llhttp parser.
 *
 * @example
 * ```ts
 * import { listen } from "@tether/tether";
 * import { createFetch, serveHttp } from "@tether/tether/http";
 *
 * const listener = listen({ transport: "memory", name: "api" });
 * await using _server = serveHttp(listener, (req) => new Response(`you asked for ${new URL(req.url).pathname}`));
 * await using fetch = createFetch({ transport: "memory", name: "api" });
 * console.log(await (await fetch("http://api/users")).text()); // "you asked for /users"
 * ```
 *
 * @module
 */

import type { Dialer } from "../listener.ts";
import { type ConnectOptions, dialer as dialerFor } from "../transports/mod.ts";
import { noop, onAbort } from "../_async/waiter.ts";
import { checkOptions, describe } from "../_validate.ts";
import { type Answer, Pool } from "./_pool.ts";
import { follow, headerOf, isRedirect, type Outgoing, outgoing, without } from "./_outgoing.ts";

/**
 * A function with `fetch`'s shape over tether conns, made by
 * {@linkcode createFetch}; `close()` (or `await using`) closes its pooled
 * conns.
 *
 * @example
 * ```ts
 * import { listen } from "@tether/tether";
 * import { createFetch, type Fetcher, serveHttp } from "@tether/tether/http";
 *
 * const listener = listen({ transport: "memory" });
 * await using _server = serveHttp(listener, () => new Response("pong"));
 * const fetch: Fetcher = createFetch(listener.dialer());
 * console.log(await (await fetch("http://svc/ping")).text()); // "pong"
 * fetch.close();
 * ```
 */
export interface Fetcher extends AsyncDisposable, Disposable {
  /** Sends a request, as `fetch` does; see {@linkcode createFetch}. */
  (input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /** Closes every pooled conn and fails the requests in flight; later calls reject. Idempotent. */
  close(): void;
}

/**
 * Options of {@linkcode createFetch}.
 *
 * @example
 * ```ts
 * import { listen } from "@tether/tether";
 * import { createFetch, type CreateFetchOptions } from "@tether/tether/http";
 *
 * const controller = new AbortController();
 * const options: CreateFetchOptions = { signal: controller.signal };
 * const fetch = createFetch(listen({ transport: "memory" }).dialer(), options);
 * controller.abort(); // as fetch.close(), with the reason for requests in flight
 * await fetch("http://x/").catch((err) => console.log(err.name)); // "AbortError"
 * ```
 */
export interface CreateFetchOptions {
  /** Aborting it closes the fetch: requests in flight reject with its reason, pooled conns close. */
  signal?: AbortSignal;
}

/** How many redirects one request follows, as browsers and Deno do. */
const MAX_REDIRECTS = 20;

/**
 * Makes a `fetch` that sends every request over a conn from `dial`: a
 * {@linkcode Dialer} (such as a memory listener's `dialer()`), or connect
 * options (`{ transport: "unix", path }`...). The URL's host does not choose
 * where the request goes, `dial` does; the host only fills the Host header.
 * URLs must be `http:`; for encryption, dial `secure()` conns.
 *
 * What it keeps of `fetch`: `Request`/`init` handling (bad input is the
 * same `TypeError`); keep-alive: idle conns are pooled and reused, and a
 * request that meets a pooled conn the server just closed is sent again on
 * a new one (unless its body is streamed: then it fails); streamed request bodies (chunked) and response bodies, each at
 * the pace the other side reads; a body given in memory (a string, bytes, a
 * Blob, FormData, URLSearchParams) goes with a `Content-Length`;
 * `AbortSignal` (the request rejects with the signal's
 * reason, and a body being read errors with it); redirects (`follow`, up to
 * 20, 303 and POST-on-301/302 become GET; `manual`; `error`); `response.url`
 * and `response.redirected`. A failure to connect or a conn that breaks
 * before the response is a `TypeError`, as with `fetch`, whose `cause` is
 * the tether error (`ConnectionRefusedError`, `ConnClosedError`...).
 *
 * What it leaves out: no cookies, caches or CORS (as Deno's own `fetch`);
 * it does not ask for compressed bodies, nor undo a `Content-Encoding`.
 *
 * @example A fetch over a Unix socket
 * ```ts
 * import { listen } from "@tether/tether";
 * import { createFetch, serveHttp } from "@tether/tether/http";
 *
 * const dir = await Deno.makeTempDir();
 * const path = `${dir}/app.sock`;
 * await using _server = serveHttp(await listen({ transport: "unix", path }), async (req) =>
 *   Response.json({ got: await req.json() })
 * );
 * await using fetch = createFetch({ transport: "unix", path });
 * const res = await fetch("http://app/echo", { method: "POST", body: JSON.stringify({ n: 1 }) });
 * console.log(await res.json()); // { got: { n: 1 } }
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function createFetch(dial: Dialer | ConnectOptions, options: CreateFetchOptions = {}): Fetcher {
  checkOptions(options, "createFetch");
  const { signal } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`signal must be an AbortSignal, got ${describe(signal)}`);
  }
  let source: Dialer;
  if (typeof dial === "object" && dial !== null && typeof (dial as Dialer).dial === "function") {
    source = dial as Dialer;
  } else if (typeof dial === "object" && dial !== null && "transport" in dial) {
    source = dialerFor(dial);
  } else {
    throw new TypeError(`createFetch() takes a Dialer or connect options, got ${describe(dial)}`);
  }
  const client = new Client(source, signal);
  const fetcher =
    ((input: string | URL | Request, init?: RequestInit) => client.fetch(input, init)) as Fetcher;
  fetcher.close = () => client.close();
  fetcher[Symbol.asyncDispose] = () => Promise.resolve(client.close());
  fetcher[Symbol.dispose] = () => client.close();
  return fetcher;
}

class Client {
  #pool: Pool;
  #state: "open" | "closed" = "open";
  #signal: AbortSignal | undefined;

  constructor(dialer: Dialer, signal: AbortSignal | undefined) {
    this.#pool = new Pool(dialer, signal);
    this.#signal = signal;
    if (signal?.aborted) this.close();
    else onAbort(signal, () => this.close());
  }

  async fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const request = await outgoing(input, init, this.#signal);
    if (request.signal?.aborted) throw request.signal.reason;
    if (this.#state === "closed") {
      throw new TypeError("this fetch was closed; make another with createFetch()");
    }
    checkUrl(request.url);
    for (let hops = 0;; hops++) {
      const answer = await this.#send(request);
      const location = isRedirect(answer.status) ? headerOf(answer.headers, "location") : undefined;
      if (location === undefined || request.redirect === "manual") {
        return this.#response(answer, request, hops > 0);
      }
      // Drop the redirect's body (a stream's cancel closes its conn; bytes are all in already).
      if (answer.body instanceof ReadableStream) answer.body.cancel().catch(noop);
      if (request.redirect === "error") {
        throw new TypeError(`${request.url.href} redirects, and redirect is "error"`);
      }
      if (hops === MAX_REDIRECTS) {
        throw new TypeError(`${request.url.href}: more than ${MAX_REDIRECTS} redirects`);
      }
      follow(request, answer.status, location);
      checkUrl(request.url);
    }
  }

  /**
   * Sends one request, with the framing headers its body needs, and only
   * those: a caller's `Host` and `Transfer-Encoding` are left out, and so is
   * its `Content-Length` but for a streamed body, which is then held to it;
   * a length that is not the body's would let its bytes run into a request
   * of their own on the conn.
   */
  #send({ url, method, headers, body, signal }: Outgoing): Promise<Answer> {
    if (this.#state === "closed") return Promise.reject(new TypeError("this fetch was closed"));
    // A streamed body keeps a length the caller gave (some servers want one); the client holds it to it.
    const declared = body.kind === "stream" ? headerOf(headers, "content-length") : undefined;
    const sent = without(headers, FRAMING);
    if (declared !== undefined) {
      if (!/^\d{1,15}$/.test(declared)) {
        return Promise.reject(
          new TypeError(`content-length must be a number of bytes, got ${JSON.stringify(declared)}`),
        );
      }
      sent.push("content-length", declared);
    }
    if (body.kind === "whole") sent.push("content-length", String(body.bytes.byteLength));
    else if (body.kind === "empty" && method !== "GET" && method !== "HEAD") sent.push("content-length", "0");
    return this.#pool.send({ url, method, headers: sent, body, signal });
  }

  #response(answer: Answer, { url, method }: Outgoing, redirected: boolean): Response {
    const { status } = answer;
    const nullBody = method === "HEAD" || status === 204 || status === 205 || status === 304;
    if (nullBody && answer.body instanceof ReadableStream) answer.body.cancel().catch(noop);
    let response: Response;
    try {
      response = new Fetched(
        nullBody ? null : answer.body,
        {
          status,
          statusText: validReason(answer.statusText),
        },
        url.href,
        redirected,
      );
    } catch (err) {
      if (answer.body instanceof ReadableStream) answer.body.cancel().catch(noop);
      throw new TypeError(`${url.href} answered with status ${status}, which fetch cannot return`, {
        cause: err,
      });
    }
    // Appended here rather than passed in: a Headers given to Response would be copied, header by header.
    const headers = response.headers;
    const raw = answer.headers;
    for (let i = 0; i < raw.length; i += 2) {
      try {
        headers.append(raw[i], raw[i + 1]);
      } catch {
        // A header value the Fetch API cannot hold is left out, as browsers do.
      }
    }
    return response;
  }

  close(): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.#pool.close();
  }
}

/** The headers the client sets itself, from the URL and the body. */
const FRAMING = ["host", "content-length", "transfer-encoding"] as const;

/**
 * A fetched `Response`: its `url` and `redirected` say where it came from,
 * as the platform's own do (a `Response` made by its constructor has no way
 * to set them; a subclass costs less than defining them on each one). Named
 * `Response`, so that it looks like one wherever it is printed.
 */
const Fetched = class Response extends globalThis.Response {
  #url: string;
  #redirected: boolean;

  constructor(body: BodyInit | null, init: ResponseInit, url: string, redirected: boolean) {
    super(body, init);
    this.#url = url;
    this.#redirected = redirected;
  }

  override get url(): string {
    return this.#url;
  }

  override get redirected(): boolean {
    return this.#redirected;
  }
};

function checkUrl(url: URL): void {
  if (url.protocol !== "http:") {
    throw new TypeError(
      `${url.href}: createFetch speaks plain HTTP/1.1 over the conns it dials, so the URL must be http: ` +
        "(for encryption, dial secure() conns)",
    );
  }
}

/** A reason phrase `Response` takes, or none. */
function validReason(text: string | undefined): string {
  return text !== undefined && /^[\t\x20-\x7e\x80-\xff]*$/.test(text) ? text : "";
}
