/**
 * A short tour of tether: `deno task demo`. Each part is a file in
 * `examples/tour/`, listed in `examples/tour/parts.ts`:
 *
 * 1. An echo service on a named in-memory listener that survives a rude client.
 * 2. The private listener-and-dialer pattern: a fixture that hands code under
 *    test a way in, with no name and no port.
 * 3. Deadlines and backpressure, as any Conn keeps them.
 * 4. Typed messages over an encrypted channel.
 * 5. The same Conn between two processes, over a Unix socket.
 * 6. Conns to a worker, which serves them like a socket server.
 * 7. Many streams over one conn, speaking yamux.
 * 8. Typed channels by name over the mux (netchan).
 * 9. An HTTP fixture: a `Deno.serve`-style handler served on a memory
 *    listener and fetched with no port opened.
 * 10. A virtual network in front of unmodified networking code.
 * 11. ipc: a named server and a client that reconnects by itself.
 */

import { parts } from "./tour/parts.ts";

for (const [i, part] of parts.entries()) {
  console.log(`${i + 1}. ${part.title}`);
  await part.run((line) => console.log(`   ${line}`));
}
console.log("done");
