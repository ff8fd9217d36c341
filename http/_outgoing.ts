/**
 * A client request as it goes out: `fetch`'s arguments made into what to
 * send, and what a redirect turns it into. Private to `http/`.
 *
 * @module
 */

import { sniff, type Sniffed } from "./_body.ts";

/** One request as it goes out: where, how, with what, and what to do with a redirect. */
export interface Outgoing {
  url: URL;
  method: string;
  /** Name/value pairs, flat, names in lower case, as checked by `Headers`: what goes on the wire. */
  headers: string[];
  body: Sniffed;
  signal: AbortSignal | undefined;
  redirect: RequestRedirect;
}

/** Methods `Request` writes in upper case whatever case they come in. */
const NORMALIZED = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** The `init` fields the quick path knows; any other sends the call through `new Request()`. */
const PLAIN_FIELDS = new Set(["method", "headers", "body", "signal", "redirect"]);
const encoder = new TextEncoder();
/** The runtime's own User-Agent (`Deno/2.9.6`), as its `fetch` sends. */
const USER_AGENT = typeof navigator === "undefined" ? undefined : navigator.userAgent;

/** `fetch`'s default headers: `Accept: *\/*` and the runtime's User-Agent. */
const DEFAULTS: readonly string[] = USER_AGENT === undefined
  ? ["accept", "*/*"]
  : ["accept", "*/*", "user-agent", USER_AGENT];

/** `headers` as flat pairs, with `fetch`'s defaults added where they are missing. */
function withDefaults(headers: Headers): string[] {
  const pairs: string[] = [];
  for (const [name, value] of headers) pairs.push(name, value);
  for (let i = 0; i < DEFAULTS.length; i += 2) {
    if (!headers.has(DEFAULTS[i])) pairs.push(DEFAULTS[i], DEFAULTS[i + 1]);
  }
  return pairs;
}

/**
 * What `fetch(input, init)` sends. The common call (a URL, and a method,
 * headers, a string or bytes body, a signal) is taken as it is; anything
 * else (a `Request`, a stream or form body, other options) goes through
 * `new Request()`, so every input is checked as `fetch` checks it.
 * `outer` is the signal of the whole fetch, if any.
 */
export async function outgoing(
  input: string | URL | Request,
  init: RequestInit | undefined,
  outer: AbortSignal | undefined,
): Promise<Outgoing> {
  const plain = plainCall(input, init);
  if (plain !== null) {
    const signal = init?.signal ?? undefined;
    return { ...plain, signal: signal && outer ? AbortSignal.any([signal, outer]) : signal ?? outer };
  }
  const request = new Request(input, init);
  return {
    url: new URL(request.url),
    method: request.method,
    headers: withDefaults(new Headers(request.headers)),
    body: await bodyOf(request, init?.body),
    signal: outer ? AbortSignal.any([request.signal, outer]) : request.signal,
    redirect: request.redirect,
  };
}

/**
 * A request's body, sniffed. A body given in memory (a Blob or File,
 * FormData, URLSearchParams, an ArrayBuffer) is read whole, so it goes with
 * a `Content-Length` as `fetch` sends it; only a stream is streamed.
 */
async function bodyOf(request: Request, given: BodyInit | null | undefined): Promise<Sniffed> {
  if (request.body === null) return { kind: "empty" };
  const inMemory = given instanceof Blob || given instanceof FormData || given instanceof URLSearchParams ||
    given instanceof ArrayBuffer || ArrayBuffer.isView(given);
  if (!inMemory) return await sniff(request.body);
  const bytes = new Uint8Array(await request.arrayBuffer());
  return bytes.byteLength === 0 ? { kind: "empty" } : { kind: "whole", bytes };
}

/** The common call, taken without a `Request`; `null` for anything it does not know. */
function plainCall(
  input: string | URL | Request,
  init: RequestInit | undefined,
): Omit<Outgoing, "signal"> | null {
  if (typeof input !== "string" && !(input instanceof URL)) return null;
  if (init !== undefined) {
    if (typeof init !== "object" || init === null) return null;
    for (const key in init) {
      if (!PLAIN_FIELDS.has(key) && (init as Record<string, unknown>)[key] !== undefined) return null;
    }
    const { body, signal, redirect } = init;
    if (body != null && typeof body !== "string" && !(body instanceof Uint8Array)) return null;
    if (signal != null && !(signal instanceof AbortSignal)) return null;
    if (redirect !== undefined && redirect !== "follow" && redirect !== "manual" && redirect !== "error") {
      return null;
    }
  }
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return null; // Request says what is wrong with it.
  }
  if (url.username !== "" || url.password !== "") return null;
  let method = init?.method ?? "GET";
  if (typeof method !== "string" || !TOKEN.test(method)) return null;
  const upper = method.toUpperCase();
  if (NORMALIZED.has(upper)) method = upper;
  else if (upper === "CONNECT" || upper === "TRACE" || upper === "TRACK") return null;
  const body = init?.body;
  if (body != null && (method === "GET" || method === "HEAD")) return null;
  // No headers given: the defaults need no Headers object to check them.
  const given = init?.headers === undefined ? null : new Headers(init.headers);
  let sniffed: Sniffed = { kind: "empty" };
  let contentType: string[] = [];
  if (body != null) {
    if (typeof body === "string") {
      if (!given?.has("content-type")) contentType = ["content-type", "text/plain;charset=UTF-8"];
      sniffed = { kind: "whole", bytes: encoder.encode(body) };
    } else {
      // Taken as fetch takes it: a copy, so the caller may reuse its buffer at once.
      sniffed = { kind: "whole", bytes: (body as Uint8Array).slice() };
    }
  }
  const headers = given === null ? [...DEFAULTS, ...contentType] : [...withDefaults(given), ...contentType];
  return { url, method, headers, body: sniffed, redirect: init?.redirect ?? "follow" };
}

/** Statuses that redirect, and whether they keep the method and body. */
const REDIRECTS = new Map([[301, "post-to-get"], [302, "post-to-get"], [303, "to-get"], [307, "keep"], [
  308,
  "keep",
]]);
/** Headers about the body, dropped when a redirect turns the request into a GET. */
const BODY_HEADERS: readonly string[] = [
  "content-type",
  "content-length",
  "content-encoding",
  "content-language",
  "content-location",
];

/** Whether `status` is a redirect that `fetch` follows. */
export function isRedirect(status: number): boolean {
  return REDIRECTS.has(status);
}

/**
 * Turns `request` into the one a `status` redirect to `location` asks for,
 * as fetch does: 303, and POST on 301 or 302, become a GET without a body;
 * 307 and 308 send the same again (which a streamed body cannot be); the
 * Authorization header does not go to another origin.
 */
export function follow(request: Outgoing, status: number, location: string): void {
  const next = new URL(location, request.url);
  const redirect = REDIRECTS.get(status);
  const toGet = (redirect === "to-get" && request.method !== "HEAD") ||
    (redirect === "post-to-get" && request.method === "POST");
  if (toGet) {
    request.method = "GET";
    request.body = { kind: "empty" };
    request.headers = without(request.headers, BODY_HEADERS);
  } else if (request.body.kind === "stream") {
    throw new TypeError(
      `${request.url.href} redirects with ${status}, but a streamed body cannot be sent twice`,
    );
  }
  if (next.origin !== request.url.origin) request.headers = without(request.headers, ["authorization"]);
  request.url = next;
}

/** The first value of the header `name` (in lower case) among flat or raw `pairs`, if any. */
export function headerOf(pairs: string[], name: string): string | undefined {
  for (let i = 0; i < pairs.length; i += 2) if (pairs[i].toLowerCase() === name) return pairs[i + 1];
  return undefined;
}

/** Flat `pairs` without the headers named in `names` (in lower case, as `Headers` gives them). */
export function without(pairs: string[], names: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < pairs.length; i += 2) {
    if (!names.includes(pairs[i])) kept.push(pairs[i], pairs[i + 1]);
  }
  return kept;
}
