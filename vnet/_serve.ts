/**
 * `Deno.serve` on the virtual network: the handler is served by
 * `serveHttp` (`@tether/tether/http`) on a virtual listener, and the server
 * returned has `Deno.HttpServer`'s shape. Private to `vnet/`.
 *
 * @module
 */

import { serveHttp } from "../http/serve.ts";
import { describe } from "../_validate.ts";
import type { Network } from "./_network.ts";
import { denoAddr, denoError, toDenoError } from "./_deno.ts";
import { hostPort } from "./_names.ts";
import { DirectServer } from "./_direct.ts";

type ServeArgs = [unknown, unknown?];

/** What `Deno.serve`'s overloads come down to. */
interface ServeCall {
  options: Deno.ServeTcpOptions & Partial<Deno.TlsCertifiedKeyPem> & { path?: string; cid?: number };
  handler: Deno.ServeHandler<Deno.NetAddr>;
}

function parse(args: ServeArgs): ServeCall {
  const [first, second] = args;
  if (typeof first === "function") return { options: {}, handler: first as ServeCall["handler"] };
  if (first === null || typeof first !== "object") {
    throw new TypeError(`Deno.serve() takes a handler or an options object, got ${describe(first)}`);
  }
  const options = first as ServeCall["options"] & { handler?: ServeCall["handler"] };
  const handler = typeof second === "function" ? second : options.handler;
  if (typeof handler !== "function") {
    throw new TypeError("Deno.serve() needs a handler: pass it as the second argument or as options.handler");
  }
  return { options, handler: handler as ServeCall["handler"] };
}

/** Deno's own line for a server that starts listening, saying it is virtual. */
function announce(addr: Deno.NetAddr): void {
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const wildcard = addr.hostname === "0.0.0.0" || addr.hostname === "::";
  const local = wildcard ? ` (http://localhost:${addr.port}/)` : "";
  console.error(`Listening on http://${host}:${addr.port}/${local} on the virtual network`);
}

/**
 * `Deno.serve` on the virtual network: a TCP address (`port` 8000 and
 * `hostname` 0.0.0.0 by default) serves virtually; a Unix socket or vsock
 * goes to the original; TLS (`cert`/`key`) is refused clearly.
 */
export function patchedServe(network: Network, original: typeof Deno.serve): typeof Deno.serve {
  return function serve(...args: ServeArgs) {
    const { options, handler } = parse(args);
    if (options.path !== undefined || options.cid !== undefined) {
      return (original as (...a: unknown[]) => Deno.HttpServer)(...args);
    }
    const { hostname = "0.0.0.0", port = 8000 } = options;
    if (options.cert !== undefined || options.key !== undefined) {
      throw denoError(
        "NotSupported",
        `Deno.serve ${hostPort(hostname, port)}: the virtual network does not speak TLS; ` +
          "serve plain HTTP in tests (leave out cert and key)",
      );
    }
    let listener;
    try {
      listener = network.listen(hostname, port, options.tcpBacklog ?? 511, "Deno.serve");
    } catch (err) {
      throw toDenoError(err);
    }
    const addr = denoAddr(listener.addr);
    // Conns (Deno.connect, node:net, fetch with a fault in force) get HTTP/1.1 from serveHttp...
    const server = serveHttp(
      listener,
      (request, info) =>
        handler(request, { remoteAddr: denoAddr(info.remoteAddr), completed: info.completed }),
      { signal: options.signal, onError: options.onError },
    );
    // ... and fetch, otherwise, hands its requests over in-process.
    const direct = new DirectServer({
      handler,
      onError: options.onError,
      clientPort: () => network.clientPort(),
    });
    network.serveDirect(listener, direct);
    const finished = server.finished.then(() => direct.idle(), async (err) => {
      await direct.idle();
      throw err;
    });
    const owned = {
      close() {
        server.close();
        direct.abortAll();
      },
      finished,
    };
    network.own(owned);
    const disown = () => network.disown(owned);
    finished.then(disown, disown);
    (options.onListen ?? announce)(addr);
    const shutdown = () => server.shutdown().then(() => finished);
    return {
      addr,
      finished,
      shutdown,
      ref: () => listener.ref(),
      unref: () => listener.unref(),
      [Symbol.asyncDispose]: shutdown,
    } satisfies Deno.HttpServer<Deno.NetAddr>;
  } as typeof Deno.serve;
}
