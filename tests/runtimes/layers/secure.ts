/**
 * `secure()` on the runtime's own WebCrypto: an AESGCM handshake and
 * transfer, in this isolate and across a real worker; and ChaChaPoly, which
 * works everywhere now (tether's own ChaCha20-Poly1305 where WebCrypto lacks
 * it, as Node 20's does).
 */

import { type Conn, pipe, portConn } from "../../../mod.ts";
import { secure } from "../../../crypto/mod.ts";
import { check, echo, pattern, peerPort, readAll, sameBytes, simpleLayer, withWorker } from "../suite.ts";

async function transfer(a: Conn, b: Conn | null, size: number): Promise<void> {
  const data = pattern(size);
  const echoing = b && b.readable.pipeTo(b.writable);
  const reading = readAll(a);
  await a.write(data);
  await a.closeWrite();
  check(sameBytes(await reading, data), `${size} bytes came back changed`);
  await echoing;
  a.close();
  b?.close();
}

export const secureLayer = simpleLayer("secure", [
  {
    id: "AESGCM handshake and 1 MiB over pipe()",
    async run() {
      const [x, y] = pipe();
      const [a, b] = await Promise.all([
        secure(x, { role: "initiator", cipher: "AESGCM" }),
        secure(y, { role: "responder", cipher: "AESGCM" }),
      ]);
      check(a.protocol === "Noise_NN_25519_AESGCM_SHA256", `protocol ${a.protocol}`);
      await transfer(a, b, 1024 * 1024);
    },
  },
  {
    id: "AESGCM handshake and 300 KB across a worker",
    run: (host) =>
      withWorker(host, async (worker) => {
        const conn = await secure(portConn(peerPort(worker, "secure-echo")), { role: "initiator" });
        await transfer(conn, null, 300_000);
      }),
  },
  {
    id: "ChaChaPoly handshakes and carries small and large records",
    async run() {
      const [x, y] = pipe();
      const [a, b] = await Promise.all([
        secure(x, { role: "initiator", cipher: "ChaChaPoly" }),
        secure(y, { role: "responder", cipher: "ChaChaPoly" }),
      ]);
      // 100 kB crosses as records of every size, the small ones sealed in plain TypeScript.
      await transfer(a, b, 100_000);
      return "ChaChaPoly: supported";
    },
  },
], {
  /** `{ cmd: "secure-echo", port }`: a `secure()` responder that echoes. */
  async "secure-echo"(m) {
    echo(await secure(portConn(m.port as MessagePort), { role: "responder" }));
  },
});
