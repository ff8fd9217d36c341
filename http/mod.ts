/**
 * HTTP over tether conns, for test fixtures with no port opened and for
 * servers on Unix sockets, named pipes or `secure()` conns:
 * {@linkcode serveHttp} serves a `Deno.serve`-shaped handler on any
 * listener, and {@linkcode createFetch} makes a `fetch` whose requests go
 * over conns from a dialer. HTTP/1.1 is parsed by Node's llhttp, through
 * Deno's `node:http` (the server, over `toDuplex` from `@tether/tether/node`)
 * and its `HTTPParser` (the client); this subpath is the only one, with
 * `node/`, that loads Node compatibility.
 *
 * @example A handler tested through a memory listener
 * ```ts
 * import { listen } from "@tether/tether";
 * import { serveHttp } from "@tether/tether/http";
 *
 * await using fixture = serveHttp(listen({ transport: "memory" }), async (req) => {
 *   const { name } = await req.json();
 *   return Response.json({ greeting: `hello, ${name}` }, { status: 201 });
 * });
 * const res = await fixture.fetch("http://app/greet", { method: "POST", body: JSON.stringify({ name: "ada" }) });
 * console.log(res.status, await res.json()); // 201 { greeting: "hello, ada" }
 * ```
 *
 * @module
 */

export {
  type HttpFixture,
  type HttpHandler,
  type HttpHandlerInfo,
  type HttpServer,
  serveHttp,
  type ServeHttpOptions,
} from "./serve.ts";
export { createFetch, type CreateFetchOptions, type Fetcher } from "./fetch.ts";
