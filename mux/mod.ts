/**
 * Many conns over one: a stream multiplexer speaking the yamux wire
 * protocol (hashicorp/yamux's spec), so tether programs talk to Go, Rust
 * and libp2p peers that use it. {@linkcode mux} turns any `Conn` into a
 * {@linkcode Session} that opens and accepts streams; every stream is a full
 * `Conn` with its own flow control, so one whose reader stalls holds up only
 * itself. The wire format and state machine are in `PROTOCOL.md` beside this
 * module; the guide is `docs/mux.md`.
 *
 * @example Two streams over one pipe
 * ```ts
 * import { pipe } from "@tether/tether";
 * import { mux } from "@tether/tether/mux";
 *
 * const [a, b] = pipe();
 * await using client = mux(a, { role: "client" });
 * await using server = mux(b, { role: "server" });
 * const one = await client.open();
 * const two = await client.open();
 * await two.write(new TextEncoder().encode("two"));
 * await one.write(new TextEncoder().encode("one"));
 * const first = await server.accept(); // streams are accepted in the order they were opened
 * const buf = new Uint8Array(3);
 * await first.read(buf);
 * console.log(first.id, new TextDecoder().decode(buf)); // 1 "one"
 * ```
 *
 * @module
 */

export { mux, Session } from "./session.ts";
export {
  DEFAULT_MAX_STREAMS,
  DEFAULT_MAX_WINDOW,
  DEFAULT_WINDOW_BUDGET,
  type MuxOptions,
} from "./_options.ts";
export type { MuxStream } from "./stream.ts";
