/**
 * Node streams over tether, and tether over Node streams: {@linkcode toDuplex}
 * makes a `net.Socket`-like `Duplex` of any `Conn`, so Node libraries that
 * take a socket (HTTP, WebSocket, database drivers, SSH) run over memory,
 * Unix sockets, named pipes or `secure()` conns; {@linkcode fromDuplex}
 * makes a `Conn` of any Node `Duplex`. Backpressure and half-close carry
 * across both ways, and errors keep their class.
 *
 * This subpath uses Deno's Node compatibility (`node:stream`); the rest of
 * tether does not load it.
 *
 * @example A `net.Socket`-shaped stream over a memory pipe
 * ```ts
 * import { pipe } from "@tether/tether";
 * import { fromDuplex, toDuplex } from "@tether/tether/node";
 *
 * const [a, b] = pipe();
 * const socket = toDuplex(a);
 * socket.write("ping");
 * const conn = fromDuplex(toDuplex(b)); // and back again
 * const buf = new Uint8Array(4);
 * await conn.read(buf);
 * console.log(new TextDecoder().decode(buf)); // "ping"
 * socket.destroy();
 * conn.close();
 * ```
 *
 * @module
 */

export { ConnSocket, toDuplex, type ToDuplexOptions } from "./socket.ts";
export { fromDuplex, type FromDuplexOptions } from "./from_duplex.ts";
