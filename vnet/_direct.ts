/**
 * A `fetch` to a virtual `Deno.serve`, with no fault in force at its
 * address, is handed to the handler in-process: the `Request` and
 * `Response` are carried across as `Deno.serve` and `fetch` would make
 * them (the Host, the default request headers, `Content-Length` for a body
 * that is all there, `Date`, no body for HEAD/204/205/304, the request's
 * signal aborting when the client leaves, `info.completed`), without
 * writing HTTP/1.1 out and parsing it back. A fault acts on bytes, so with
 * one in force the request goes over a virtual connection instead. Private
 * to `vnet/`.
 *
 * @module
 */

import { STATUS_CODES } from "node:http";
import { ConnClosedError } from "../errors.ts";
import { describe } from "../_validate.ts";
import { noop } from "../_async/waiter.ts";
import { abortable } from "../_async/abortable.ts";
import { sniff } from "../_sniff.ts";
import { denoAddr } from "./_deno.ts";

/** What the handler is given besides the request. */
type Handler = (request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) => Response | Promise<Response>;

/** Statuses whose responses have no body. */
const NULL_BODY = new Set([101, 204, 205, 304]);
/** The runtime's own User-Agent, as its `fetch` sends it. */
const USER_AGENT = typeof navigator === "undefined" ? undefined : navigator.userAgent;

/** A body as it will be sent: none, all there (with its length), or still being produced. */
type Body =
  | { readonly kind: "empty" }
  | { readonly kind: "whole"; readonly bytes: Uint8Array }
  | { readonly kind: "stream"; readonly stream: ReadableStream<Uint8Array> };

/** `stream` sniffed (see `../_sniff.ts`): none, all there, or the rest of it as a stream. */
async function sniffBody(stream: ReadableStream<Uint8Array> | null): Promise<Body> {
  if (stream === null) return { kind: "empty" };
  const sniffed = await sniff(stream);
  return sniffed.kind === "stream"
    ? { kind: "stream", stream: resumed(sniffed.head, sniffed.reader) }
    : sniffed;
}

/** An empty body that is there: what `Deno.serve` gives a DELETE with no body. */
function emptyBody(): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (controller) => controller.close() });
}

/** The rest of a stream, after the chunks already taken. */
function resumed(
  head: Uint8Array[],
  reader: ReadableStreamDefaultReader<Uint8Array>,
): ReadableStream<Uint8Array> {
  return new ReadableStream({
    async pull(controller) {
      if (head.length > 0) return controller.enqueue(head.shift()!);
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

/**
 * A body stream that reports when it is done with, and breaks off when
 * `signal` aborts: with the client's own reason if it was the client that
 * left, as fetch's body does.
 */
function watched(
  body: Body,
  signal: AbortSignal,
  client: AbortSignal,
  done: (finished: boolean) => void,
): ReadableStream<Uint8Array> | null {
  if (body.kind === "empty") {
    done(true);
    return null;
  }
  if (body.kind === "whole") {
    done(true);
    return new Response(body.bytes as Uint8Array<ArrayBuffer>).body;
  }
  const reader = body.stream.getReader();
  let over = false;
  const finish = (finished: boolean) => {
    if (over) return;
    over = true;
    done(finished);
  };
  return new ReadableStream({
    start(controller) {
      signal.addEventListener("abort", () => {
        controller.error(
          client.aborted
            ? client.reason
            : new TypeError("the connection broke while reading the body", { cause: signal.reason }),
        );
        reader.cancel(signal.reason).catch(noop);
        finish(false);
      }, { once: true });
    },
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          controller.close();
          finish(true);
        } else {
          controller.enqueue(value);
        }
      } catch (err) {
        controller.error(new TypeError("the response body broke off", { cause: err }));
        finish(false);
      }
    },
    cancel(reason) {
      finish(false);
      return reader.cancel(reason);
    },
  });
}

/** A virtual `Deno.serve`'s handler, reachable by `fetch` in-process. */
export class DirectServer {
  #handler: Handler;
  #onError: (error: unknown) => Response | Promise<Response>;
  #clientPort: () => number;
  #inFlight = new Set<AbortController>();
  #idle: (() => void)[] = [];

  constructor(init: {
    handler: Handler;
    onError?: (error: unknown) => Response | Promise<Response>;
    clientPort: () => number;
  }) {
    this.#handler = init.handler;
    this.#onError = init.onError ?? defaultOnError;
    this.#clientPort = init.clientPort;
  }

  /** Resolves once no exchange is in flight. */
  idle(): Promise<void> {
    if (this.#inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Aborts the exchanges in flight, as closing their conns would. */
  abortAll(): void {
    for (const aborter of this.#inFlight) {
      aborter.abort(new ConnClosedError({ op: "respond", detail: "the server closed" }));
    }
  }

  /** Sends `request` to the handler and returns what `fetch` returns for its response. */
  async exchange(request: Request): Promise<Response> {
    const client = request.signal;
    if (client.aborted) throw client.reason;
    const url = new URL(request.url);
    const headers = new Headers(request.headers);
    if (!headers.has("accept")) headers.set("accept", "*/*");
    if (!headers.has("accept-language")) headers.set("accept-language", "*");
    if (USER_AGENT !== undefined && !headers.has("user-agent")) headers.set("user-agent", USER_AGENT);
    headers.set("host", url.host);
    const method = request.method;
    const bodiless = method === "GET" || method === "HEAD";
    const sent = bodiless ? { kind: "empty" } as Body : await sniffBody(request.body);
    if (sent.kind === "whole") headers.set("content-length", String(sent.bytes.byteLength));
    else if (sent.kind === "stream") headers.set("transfer-encoding", "chunked");
    else if (method === "POST" || method === "PUT") headers.set("content-length", "0"); // as fetch does

    const aborter = new AbortController();
    this.#inFlight.add(aborter);
    const left = () =>
      aborter.abort(new ConnClosedError({ op: "respond", detail: "the client left before the response" }));
    client.addEventListener("abort", left, { once: true });
    const completed = Promise.withResolvers<void>();
    completed.promise.catch(noop);
    const end = () => {
      client.removeEventListener("abort", left);
      this.#inFlight.delete(aborter);
      if (this.#inFlight.size === 0) { for (const resolve of this.#idle.splice(0)) resolve(); }
    };
    try {
      const serverRequest = new Request(url, {
        method,
        headers,
        // Deno.serve gives every request but a GET or HEAD a body, if only an empty one.
        body: sent.kind === "whole"
          ? sent.bytes as Uint8Array<ArrayBuffer>
          : sent.kind === "stream"
          ? sent.stream
          : bodiless
          ? null
          : emptyBody(),
        signal: aborter.signal,
        // @ts-ignore: Deno takes `duplex` for a stream body, as the fetch spec says.
        duplex: "half",
      });
      const info = {
        remoteAddr: denoAddr({ hostname: "127.0.0.1", port: this.#clientPort() }),
        completed: completed.promise,
      };
      // The client leaving, or the server closing, ends the wait for a handler that keeps on.
      const response = await abortable(
        this.#respond(serverRequest, info),
        aborter.signal,
        (late) => void late.body?.cancel().catch(noop),
        (reason) => client.aborted ? client.reason : new TypeError("fetch failed", { cause: reason }),
      );
      const out = new Headers(response.headers);
      if (!out.has("date")) out.set("date", new Date().toUTCString());
      const status = response.status;
      let body: Body = NULL_BODY.has(status) ? { kind: "empty" } : await sniffBody(response.body);
      if (!out.has("content-length") && !NULL_BODY.has(status)) {
        // A body that is all there goes with its length (for HEAD too), as with Deno.serve.
        if (body.kind === "whole") out.set("content-length", String(body.bytes.byteLength));
        else if (body.kind === "empty") out.set("content-length", "0");
      }
      if (method === "HEAD" || NULL_BODY.has(status)) {
        if (body.kind === "stream") await body.stream.cancel().catch(noop);
        else await response.body?.cancel().catch(noop);
        body = { kind: "empty" };
      }
      const stream = watched(body, aborter.signal, client, (finished) => {
        end();
        if (finished) completed.resolve();
        else completed.reject(new Deno.errors.Interrupted("the response was not sent whole"));
      });
      // The reason phrase comes over the wire; a handler's Response rarely sets one.
      const statusText = response.statusText || STATUS_CODES[status] || "";
      const result = new Response(stream, { status, statusText, headers: out });
      Object.defineProperty(result, "url", { value: url.href });
      return result;
    } catch (err) {
      end();
      completed.reject(err);
      throw err;
    }
  }

  async #respond(request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>): Promise<Response> {
    try {
      const response = await this.#handler(request, info);
      if (!(response instanceof Response)) {
        throw new TypeError(`the handler must return a Response, got ${describe(response)}`);
      }
      return response;
    } catch (err) {
      try {
        const response = await this.#onError(err);
        if (response instanceof Response) return response;
      } catch (secondError) {
        console.error("Deno.serve: onError failed:", secondError);
      }
      return new Response("Internal Server Error", { status: 500 });
    }
  }
}

function defaultOnError(error: unknown): Response {
  console.error("Deno.serve: the handler failed:", error);
  return new Response("Internal Server Error", { status: 500 });
}
