/**
 * How a socket listener hands out what its native accepts give: a failure
 * goes to the accept() calls waiting when it happened, never to a later one.
 */
import assert from "node:assert/strict";
import { ConnError } from "../mod.ts";
import { SocketConn } from "../transports/socket_conn.ts";
import { SocketListener } from "../transports/socket_listener.ts";

Deno.test("an accept failure is news only to accept() calls made before it: a later call gets a fresh try", async () => {
  using real = Deno.listen({ transport: "tcp", hostname: "127.0.0.1", port: 0 });
  let failures = 2;
  const native = {
    accept(): Promise<Deno.Conn> {
      if (failures-- > 0) {
        return Promise.reject(
          Object.assign(new Error("Too many open files (os error 24)"), { code: "EMFILE" }),
        );
      }
      return real.accept();
    },
    close: () => {},
  };
  const addr = { transport: "tcp", address: "test" };
  using listener = new SocketListener(native, addr, {
    admit: (conn) => new SocketConn(conn, { localAddr: addr, remoteAddr: addr, bufferSize: 1024 }),
    dial: () => Promise.reject(new Error("not dialed in this test")),
  });
  const first = await listener.accept().catch((e) => e);
  assert.ok(first instanceof ConnError && first.code === "EMFILE" && first.temporary, String(first));
  // The pump, one accept ahead, failed again before this call: that failure is stale for it.
  await new Promise((resolve) => setTimeout(resolve, 10));
  const dialing = Deno.connect({ transport: "tcp", hostname: "127.0.0.1", port: real.addr.port });
  using conn = await listener.accept({ signal: AbortSignal.timeout(5000) });
  using _client = await dialing;
  assert.ok(failures < 0, "both failures happened before the conn came");
  assert.ok(conn instanceof SocketConn);
});
