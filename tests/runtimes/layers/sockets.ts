/**
 * The socket transports run on Deno's sockets: elsewhere, asking for one is
 * a clear `ENOTSUP`, not a `ReferenceError` about `Deno`.
 */

import { connect, ConnError, listen } from "../../../mod.ts";
import { check, simpleLayer } from "../suite.ts";

export const socketsLayer = simpleLayer("sockets", [
  {
    id: "unix, tcp and pipe: Deno's sockets, or ENOTSUP",
    async run() {
      if (typeof (globalThis as { Deno?: unknown }).Deno === "object") {
        // No `using` in this suite: Node 20 cannot parse it, and the bundle keeps it as written.
        const listener = await listen({ transport: "tcp", hostname: "127.0.0.1", port: 0 });
        listener.close();
        check(listener.addr.port! > 0, "no port");
        return "sockets: available";
      }
      const attempts = [
        listen({ transport: "tcp", hostname: "127.0.0.1", port: 0 }),
        listen({ transport: "unix", path: "/tmp/tether-never.sock" }),
        connect({ transport: "tcp", hostname: "127.0.0.1", port: 1 }),
        connect({ transport: "pipe", path: "\\\\.\\pipe\\tether-never" }),
      ];
      for (const attempt of attempts) {
        const err = await attempt.then(() => null, (e) => e);
        check(err instanceof ConnError && err.code === "ENOTSUP", `expected ENOTSUP, got ${err}`);
        check(/not supported on this runtime/.test(err.message), err.message);
      }
      return "sockets: ENOTSUP";
    },
  },
]);
