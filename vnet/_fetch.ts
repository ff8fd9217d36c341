/**
 * `fetch` on the virtual network: an `http:` URL whose host and port the
 * network serves goes over a virtual connection (HTTP/1.1 by
 * `createFetch` from `@tether/tether/http`), one pool per origin; the rest
 * goes out only where passthrough allows it. Private to `vnet/`.
 *
 * @module
 */

import { createFetch, type Fetcher } from "../http/fetch.ts";
import type { Network } from "./_network.ts";
import { denoError, toDenoError } from "./_deno.ts";
import type { Place } from "./_names.ts";

/** Statuses that redirect, and what they do to the method: fetch's rules. */
const REDIRECTS = new Map([[301, "post-to-get"], [302, "post-to-get"], [303, "to-get"], [307, "keep"], [
  308,
  "keep",
]]);
const MAX_REDIRECTS = 20;
const BODY_HEADERS = [
  "content-type",
  "content-length",
  "content-encoding",
  "content-language",
  "content-location",
];

/** `fetch`'s own failure: a `TypeError` whose cause says what went wrong, as Deno's does. */
function failed(cause: Error): TypeError {
  return new TypeError("fetch failed", { cause });
}

function urlOf(input: string | URL | Request): string {
  if (typeof input === "string") return input;
  if (input instanceof URL) return input.href;
  if (input instanceof Request) return input.url;
  return String(input);
}

/** The request's redirect mode, without building a `Request` for a plain call. */
function redirectMode(input: string | URL | Request, init: RequestInit | undefined): RequestRedirect {
  return init?.redirect ?? (input instanceof Request ? input.redirect : "follow");
}

/** Whether the call sends a body. */
function hasBody(input: string | URL | Request, init: RequestInit | undefined): boolean {
  if (init?.body !== undefined && init.body !== null) return true;
  return init?.body === undefined && input instanceof Request && input.body !== null;
}

/**
 * The patched `fetch`. `own` keeps the per-origin fetchers, closed when the
 * network is disposed.
 */
export function patchedFetch(network: Network, original: typeof fetch): typeof fetch {
  const fetchers = new Map<string, Fetcher>();
  network.own({
    close() {
      for (const fetcher of fetchers.values()) fetcher.close();
      fetchers.clear();
    },
  });

  function fetcherFor(place: Place): Fetcher {
    const key = `${place.host} ${place.port}`;
    let fetcher = fetchers.get(key);
    if (fetcher === undefined) {
      fetcher = createFetch({
        dial: (options) =>
          network.dial(place, options).catch((err) => {
            throw toDenoError(err);
          }),
      });
      fetchers.set(key, fetcher);
    }
    return fetcher;
  }

  async function virtualFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    let url: URL;
    try {
      url = new URL(urlOf(input), (globalThis as { location?: Location }).location?.href);
    } catch {
      return await original(input, init); // Its own TypeError for a URL it cannot take.
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") return await original(input, init);
    const hostname = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
    const port = url.port !== "" ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
    const protocol = url.protocol === "https:" ? "https" : "http";
    const client = (init as { client?: unknown } | undefined)?.client;
    if (protocol === "https" || client !== undefined) {
      if (network.allowsOut({ hostname: hostname.toLowerCase(), port, protocol })) {
        return await original(input, init);
      }
      const why = protocol === "https"
        ? "the virtual network does not speak TLS: fetch http:// in tests, or let the host through with passthrough"
        : "a Deno.HttpClient (the client option) reaches the real network: let the host through with passthrough";
      throw failed(
        denoError(
          network.holds(hostname, port) ? "NotSupported" : "ConnectionRefused",
          `error sending request for url (${url.href}): ${why}`,
        ),
      );
    }
    const resolution = network.resolve(hostname, port, "http", "fetch");
    if (resolution.kind === "passthrough") return await original(input, init);
    if (resolution.kind === "refused") {
      const cause = toDenoError(resolution.error) as Error;
      cause.message = `error sending request for url (${url.href}): ${cause.message}`;
      throw failed(cause);
    }
    const direct = network.directAt(resolution.place);
    const fetcher: (input: string | URL | Request, init?: RequestInit) => Promise<Response> = direct
      ? (input, init) => direct.exchange(new Request(input, init))
      : fetcherFor(resolution.place);
    const mode = redirectMode(input, init);
    if (mode !== "follow") return await fetcher(input, init);
    if (!hasBody(input, init)) {
      const response = await fetcher(input, init === undefined ? MANUAL : { ...init, redirect: "manual" });
      if (!isRedirect(response)) return response;
      return await followRedirects(response, new Request(input, init), null);
    }
    // A body that 307/308 may need again is kept; a stream cannot be.
    const request = new Request(input, init);
    const stream = init?.body instanceof ReadableStream;
    const body = stream ? null : await request.arrayBuffer();
    const response = await fetcher(request.url, {
      ...requestInit(request),
      body: body ?? init!.body,
      redirect: "manual",
    });
    if (!isRedirect(response)) return response;
    return await followRedirects(response, request, stream ? "stream" : body);
  }

  /** Follows redirects as fetch does, each hop through the patched fetch, so another host is reached where it is. */
  async function followRedirects(
    first: Response,
    request: Request,
    body: ArrayBuffer | "stream" | null,
  ): Promise<Response> {
    let response = first;
    let url = new URL(request.url);
    let method = request.method;
    const headers = new Headers(request.headers);
    for (let hops = 1;; hops++) {
      await response.body?.cancel();
      if (hops > MAX_REDIRECTS) throw new TypeError(`${request.url}: more than ${MAX_REDIRECTS} redirects`);
      const rule = REDIRECTS.get(response.status);
      const next = new URL(response.headers.get("location")!, url);
      if ((rule === "to-get" && method !== "HEAD") || (rule === "post-to-get" && method === "POST")) {
        method = "GET";
        body = null;
        for (const name of BODY_HEADERS) headers.delete(name);
      } else if (body === "stream") {
        throw new TypeError(
          `${url.href} redirects with ${response.status}, but a streamed body cannot be sent twice`,
        );
      }
      if (next.origin !== url.origin) headers.delete("authorization");
      url = next;
      response = await virtualFetch(url, {
        method,
        headers,
        body: body as ArrayBuffer | null,
        signal: request.signal,
        redirect: "manual",
      });
      if (!isRedirect(response)) return redirected(response);
    }
  }

  return virtualFetch as typeof fetch;
}

const MANUAL: RequestInit = Object.freeze({ redirect: "manual" });

function isRedirect(response: Response): boolean {
  return REDIRECTS.has(response.status) && response.headers.has("location");
}

/** `response` as the end of redirects: the same, with `redirected` true. */
function redirected(response: Response): Response {
  const out = new Response(response.body, response);
  Object.defineProperty(out, "url", { value: response.url });
  Object.defineProperty(out, "redirected", { value: true });
  return out;
}

function requestInit(request: Request): RequestInit {
  return { method: request.method, headers: request.headers, signal: request.signal };
}
