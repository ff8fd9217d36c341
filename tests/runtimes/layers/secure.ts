/**
 * `secure()` on the runtime's own WebCrypto: an AESGCM handshake and
 * transfer, in this isolate and across a real worker; and ChaChaPoly, which
 * either works or, where WebCrypto lacks ChaCha20-Poly1305 (Node 20,
 * Chromium), is an `UnsupportedAlgorithmError` that leaves the conn open.
 */

import { type Conn, pipe, portConn, UnsupportedAlgorithmError } from "../../../mod.ts";
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
    id: "ChaChaPoly works, or is an UnsupportedAlgorithmError that leaves the conn open",
    async run() {
      const [x, y] = pipe();
      const result = await Promise.all([
        secure(x, { role: "initiator", cipher: "ChaChaPoly" }),
        secure(y, { role: "responder", cipher: "ChaChaPoly" }),
      ]).catch((err) => err);
      if (Array.isArray(result)) {
        await transfer(result[0], result[1], 100_000);
        return "ChaChaPoly: supported";
      }
      check(result instanceof UnsupportedAlgorithmError, `expected UnsupportedAlgorithmError, got ${result}`);
      check(result.algorithm === "ChaCha20-Poly1305", `algorithm ${result.algorithm}`);
      // A cipher the runtime lacks is a bad option: the conn underneath is untouched.
      await transfer(x, y, 1000);
      return "ChaChaPoly: unsupported";
    },
  },
], {
  /** `{ cmd: "secure-echo", port }`: a `secure()` responder that echoes. */
  async "secure-echo"(m) {
    echo(await secure(portConn(m.port as MessagePort), { role: "responder" }));
  },
});
