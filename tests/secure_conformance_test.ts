import { pipe } from "../mod.ts";
import { secure, type SecureOptions } from "../crypto/mod.ts";
import { testConn } from "../testing/mod.ts";

function securePipe(options: Omit<SecureOptions, "role"> = {}, bufferSize?: number) {
  return async () => {
    const [a, b] = pipe({ bufferSize });
    return await Promise.all([
      secure(a, { ...options, role: "initiator" }),
      secure(b, { ...options, role: "responder" }),
    ]);
  };
}

Deno.test("secure() over pipe() keeps the Conn contract (NN, AESGCM)", async (t) => {
  await testConn(t, securePipe());
});

Deno.test("secure() over pipe() keeps the Conn contract (NNpsk0, ChaChaPoly, SHA512, tiny pipe window)", async (t) => {
  const psk = new Uint8Array(32).fill(3);
  await testConn(t, securePipe({ pattern: "NNpsk0", psk, cipher: "ChaChaPoly", hash: "SHA512" }, 7));
});
