/**
 * One request on the server side: Node's `IncomingMessage` made a Web
 * `Request`, and the handler's `Response` written into Node's
 * `ServerResponse`. Private to `http/`.
 *
 * @module
 */

import type { IncomingMessage, ServerResponse } from "node:http";
import { type Addr, formatAddr } from "../conn.ts";
import { ConnClosedError } from "../errors.ts";
import { noop } from "../_async/waiter.ts";
import { arrived, bodyStream, pumpBody, sniff, staticBody } from "./_body.ts";

/** Methods whose requests carry no body the handler sees, as in `Deno.serve`. */
const NO_BODY_METHODS = new Set(["GET", "HEAD"]);

/** Methods the Fetch API refuses to make a `Request` with. */
const REFUSED_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);

/** Why a request could not be made a `Request`: the status to answer with. */
export class BadRequest extends Error {
  constructor(readonly status: 400 | 501, message: string) {
    super(message);
  }
}

/**
 * A request's `signal`, made only if the handler asks for it: most never
 * do, and a signal that follows another costs a good part of a request.
 * It aborts once the client leaves before the response.
 */
export class LazySignal {
  #controller: AbortController | null = null;
  /** `waiting`, or `aborted` with the reason once the client left. */
  #state: { kind: "waiting" } | { kind: "aborted"; reason: unknown } = { kind: "waiting" };

  /** The signal, made now if it was not yet. */
  get signal(): AbortSignal {
    if (this.#controller === null) {
      this.#controller = new AbortController();
      if (this.#state.kind === "aborted") this.#controller.abort(this.#state.reason);
    }
    return this.#controller.signal;
  }

  /** Aborts the signal (now or whenever it is made) with `reason`. */
  abort(reason: unknown): void {
    if (this.#state.kind === "aborted") return;
    this.#state = { kind: "aborted", reason };
    this.#controller?.abort(reason);
  }
}

/** Where a request came in, and the signal its `Request` gets. */
export interface RequestContext {
  /** The listener's address. */
  local: Addr;
  /** The client's. */
  remote: Addr;
  /** Aborts when the client leaves before the response. */
  signal: LazySignal;
}

/**
 * The `Request` for `req`. Its URL is `http://` + the Host header (the
 * listener's address when there is none, as in HTTP/1.0) + the path, as
 * `Deno.serve` gives it.
 */
export async function toRequest(
  req: IncomingMessage,
  { local, remote, signal }: RequestContext,
): Promise<Request> {
  const method = req.method ?? "GET";
  let url: string | URL;
  try {
    url = requestUrl(req, local);
  } catch {
    throw new BadRequest(400, `bad request target or Host header: ${JSON.stringify(req.url)}`);
  }
  const hasBody = !NO_BODY_METHODS.has(method) &&
    (req.headers["transfer-encoding"] !== undefined ||
      (req.headers["content-length"] !== undefined && req.headers["content-length"] !== "0"));
  const body = !hasBody ? null : (await arrived(req)) ?? bodyStream(
    req,
    (cause) =>
      new ConnClosedError({
        op: "read",
        addr: formatAddr(remote),
        detail: "the client went away before the request body was complete",
        cause,
      }),
    // A handler that stops reading: the rest is read and dropped, so the conn can carry the next request.
    () => req.resume(),
  );
  let request: Request;
  try {
    request = new Served(
      url,
      method === "GET" ? undefined : (body ? { method, body, duplex: "half" } : { method }) as RequestInit,
      signal,
    );
  } catch {
    // The Fetch API refuses some methods outright (CONNECT, TRACE, TRACK); else the URL was bad.
    if (REFUSED_METHODS.has(method.toUpperCase())) {
      throw new BadRequest(501, `the method ${method} is not supported`);
    }
    throw new BadRequest(400, `bad request target or Host header: ${JSON.stringify(req.url)}`);
  }
  // Appended here rather than passed in: a Headers given to Request would be copied, header by header.
  const headers = request.headers;
  const raw = req.rawHeaders;
  try {
    for (let i = 0; i < raw.length; i += 2) headers.append(raw[i], raw[i + 1]);
  } catch {
    throw new BadRequest(400, "a header the Fetch API cannot hold");
  }
  return request;
}

/**
 * A served `Request`, whose `signal` aborts when the client leaves (made
 * only when asked for). What a `Request` made from this one (`clone()`,
 * `new Request(request)`) follows is the platform's own signal, which never
 * aborts: hand the handler's code `request.signal` itself where it matters.
 * Named `Request`, so that it looks like one wherever it is printed.
 */
const Served = class Request extends globalThis.Request {
  #signal: LazySignal;

  constructor(url: string | URL, init: RequestInit | undefined, signal: LazySignal) {
    super(url, init);
    this.#signal = signal;
  }

  override get signal(): AbortSignal {
    return this.#signal.signal;
  }
};

/**
 * The request's URL: an absolute-form target (as sent to a proxy) parsed,
 * an origin-form one as text, which `Request` parses (once, rather than
 * twice through a `URL`; it refuses a bad one with a TypeError too).
 */
function requestUrl(req: IncomingMessage, local: Addr): string | URL {
  const target = req.url ?? "/";
  if (!target.startsWith("/")) return new URL(target);
  const host = req.headers.host ?? (local.port !== undefined ? local.address : "localhost");
  if (/[\s/?#@\\]/.test(host)) throw new TypeError("bad host");
  return `http://${host}${target}`;
}

/**
 * Writes `response` into `res`: a body that is all there goes with a
 * `Content-Length`; a body still being produced is streamed, chunked,
 * at the pace the client reads. HEAD answers carry the headers only.
 * Resolves once all of it was handed to the conn, or the client left.
 */
export async function writeResponse(res: ServerResponse, response: Response, head: boolean): Promise<void> {
  // Before the headers: asking for them can make the platform give up a body it keeps as text.
  const known = staticBody(response);
  const headers: string[] = [];
  let hasLength = false;
  for (const [name, value] of response.headers) {
    headers.push(name, value);
    if (name === "content-length") hasLength = true;
  }
  const body = known === undefined ? response.body : null;
  if (known === undefined && body === null) {
    res.writeHead(response.status, response.statusText || undefined, headers);
    res.end();
    return;
  }
  const sniffed = known ?? await sniff(body!);
  if (sniffed.kind === "stream" && head) {
    await sniffed.reader.cancel().catch(noop);
  }
  if (sniffed.kind === "stream" && !head) {
    res.writeHead(response.status, response.statusText || undefined, headers);
    await pumpBody(sniffed.head, sniffed.reader, res);
    return;
  }
  const bytes = sniffed.kind === "whole" ? sniffed.bytes : undefined;
  if (!hasLength && sniffed.kind !== "stream" && !noContent(response.status)) {
    headers.push("content-length", String(bytes?.byteLength ?? 0));
  }
  res.writeHead(response.status, response.statusText || undefined, headers);
  if (head || bytes === undefined) res.end();
  else res.end(bytes);
}

/** Statuses that never carry a body or a length. */
function noContent(status: number): boolean {
  return status === 204 || status === 304 || (status >= 100 && status < 200);
}
