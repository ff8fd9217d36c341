/**
 * RPC over any tether conn with Cloudflare's
 * [Cap'n Web](https://github.com/cloudflare/capnweb) (`npm:capnweb`):
 * {@linkcode rpcTransport} makes a framed conn the `RpcTransport` an
 * `RpcSession` runs on, so promise pipelining, passing objects and
 * callbacks by reference, and typed stubs work over memory, Unix sockets,
 * named pipes, workers or `secure()` conns.
 *
 * This module only implements capnweb's transport interface: it imports
 * nothing from capnweb at run time, so it works with the capnweb your
 * application uses (tested with 0.12).
 *
 * @example Two ends of a session over a pipe
 * ```ts
 * import { RpcSession, RpcTarget, type RpcStub } from "capnweb";
 * import { frames, pipe } from "@tether/tether";
 * import { rpcTransport } from "@tether/tether/rpc";
 *
 * class Greeter extends RpcTarget {
 *   greet(name: string): string {
 *     return `hello, ${name}`;
 *   }
 * }
 * const [a, b] = pipe();
 * new RpcSession(rpcTransport(frames(b)), new Greeter());
 * const client = new RpcSession<Greeter>(rpcTransport(frames(a)));
 * const greeter: RpcStub<Greeter> = client.getRemoteMain();
 * console.log(await greeter.greet("ada")); // "hello, ada"
 * a.close();
 * ```
 *
 * @module
 */

import type { RpcTransport as CapnwebTransport } from "capnweb";
import { ConnClosedError, ProtocolError } from "../errors.ts";
import type { FramedConn } from "../frame.ts";
import { delay } from "../_async/delay.ts";
import { noop } from "../_async/waiter.ts";
import { connWhere } from "../_where.ts";

/**
 * The transport an `RpcSession` runs on, as capnweb defines it (its
 * `RpcTransport` with string messages): what {@linkcode rpcTransport}
 * returns, and what `new RpcSession(transport, localMain)` takes.
 *
 * @example
 * ```ts
 * import { frames, pipe } from "@tether/tether";
 * import { rpcTransport, type RpcTransport } from "@tether/tether/rpc";
 *
 * const [a, b] = pipe();
 * const transport: RpcTransport = rpcTransport(frames(a));
 * await transport.send('["pull",1]');
 * console.log(new TextDecoder().decode((await frames(b).receive())!)); // '["pull",1]'
 * a.close();
 * ```
 */
export interface RpcTransport {
  /** Sends one message; resolves once the conn took it. A rejection aborts the session. */
  send(message: string): Promise<void>;
  /** The next message; rejects once the conn is closed or broken, which ends the session. */
  receive(): Promise<string>;
  /** The session failed: sends what is queued, then closes the conn. */
  abort(reason: unknown): void;
}

/** How long an aborted session's last messages may take to go before the conn is closed anyway. */
const ABORT_GRACE_MS = 1000;

const encoder = new TextEncoder();

/**
 * Makes the capnweb `RpcTransport` of a framed conn: each capnweb message
 * (a JSON string) is one frame of UTF-8.
 *
 * - `send` resolves once the conn took the frame; a message over the framed
 *   conn's `maxMessageSize` rejects with `MessageTooLargeError`, which
 *   aborts the session (raise `maxMessageSize` in `frames()` on both ends
 *   for bigger messages).
 * - `receive` rejects with `ConnClosedError` once the peer closes or the
 *   conn breaks, and with `ProtocolError` (closing the conn) for a frame
 *   that is not UTF-8. capnweb then rejects every call still pending on
 *   that session, and every later call, with that same error: a dropped
 *   conn is seen as a `ConnClosedError` at each call site.
 * - `abort` (capnweb's own, when the session fails) lets the messages
 *   already sent go (the last is usually capnweb's abort message, telling
 *   the peer why), half-closes, and closes the conn, within a second.
 *
 * Close the session by closing the conn: pending calls on both ends then
 * reject with `ConnClosedError`.
 *
 * @example RPC between two processes, over a Unix socket
 * ```ts
 * import { RpcSession, RpcTarget } from "capnweb";
 * import { connect, frames, listen } from "@tether/tether";
 * import { rpcTransport } from "@tether/tether/rpc";
 *
 * class Clock extends RpcTarget {
 *   now(): number {
 *     return 42;
 *   }
 * }
 * const dir = await Deno.makeTempDir();
 * const path = `${dir}/clock.sock`;
 * await using listener = await listen({ transport: "unix", path });
 * (async () => {
 *   for await (const conn of listener) new RpcSession(rpcTransport(frames(conn)), new Clock());
 * })();
 * await using conn = await connect({ transport: "unix", path });
 * const clock = new RpcSession<Clock>(rpcTransport(frames(conn))).getRemoteMain();
 * console.log(await clock.now()); // 42
 * conn.close();
 * listener.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function rpcTransport(framed: FramedConn<Uint8Array>): RpcTransport {
  if (typeof framed !== "object" || framed === null || typeof framed.receive !== "function" || !framed.conn) {
    throw new TypeError("rpcTransport() takes a framed conn: rpcTransport(frames(conn))");
  }
  return new FramedTransport(framed);
}

class FramedTransport implements RpcTransport, CapnwebTransport {
  #framed: FramedConn<Uint8Array>;
  #decoder = new TextDecoder("utf-8", { fatal: true });
  #addr: string;
  /** `open`, or `aborted` once capnweb gave up on the session (the conn is closing). */
  #state: "open" | "aborted" = "open";

  constructor(framed: FramedConn<Uint8Array>) {
    this.#framed = framed;
    this.#addr = connWhere(framed.conn);
  }

  send(message: string): Promise<void> {
    return this.#framed.send(encoder.encode(message));
  }

  async receive(): Promise<string> {
    const bytes = await this.#framed.receive();
    if (bytes === null) {
      throw new ConnClosedError({ op: "receive", addr: this.#addr, detail: "the peer closed the RPC conn" });
    }
    try {
      return this.#decoder.decode(bytes);
    } catch (err) {
      this.#framed.close();
      throw new ProtocolError({
        op: "receive",
        addr: this.#addr,
        detail: "an RPC message is not UTF-8",
        cause: err,
      });
    }
  }

  abort(_reason: unknown): void {
    if (this.#state === "aborted") return;
    this.#state = "aborted";
    const framed = this.#framed;
    const grace = new AbortController();
    Promise.race([framed.closeWrite(), delay(ABORT_GRACE_MS, grace.signal)])
      .catch(noop)
      .finally(() => {
        grace.abort();
        framed.close();
      });
  }
}
