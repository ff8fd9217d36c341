/**
 * The other process of the socket cost benches: a raw Deno server on a Unix
 * socket and a TCP port, so that only the client side differs between the
 * variants measured. Prints the TCP port, then a line every `batch` conns.
 *
 *     deno run -A bench/_socket_peer.ts <unix path> <mode> [batch]
 *
 * Modes: `close` accepts and closes at once; `echo` reads one byte, writes
 * it back and keeps the conn; `secure-echo` does the same inside tether's
 * `secure()` (responder, pattern NN).
 */
import { SocketConn } from "../transports/socket_conn.ts";
import { secure } from "../crypto/mod.ts";

const [path, mode, batchArg] = Deno.args;
const batch = Number(batchArg ?? 1);
const unix = Deno.listen({ transport: "unix", path });
const tcp = Deno.listen({ transport: "tcp", hostname: "127.0.0.1", port: 0 });
const encoder = new TextEncoder();
const say = (line: string) => Deno.stdout.writeSync(encoder.encode(`${line}\n`));
say(String(tcp.addr.port));

// Exits once the process that started it is gone: its stdin closes then.
(async () => {
  for await (const _ of Deno.stdin.readable);
  Deno.exit(0);
})();

const kept: unknown[] = [];
let count = 0;

async function serve(native: Deno.Conn): Promise<void> {
  if (mode === "close") return native.close();
  const byte = new Uint8Array(1);
  if (mode === "echo") {
    await native.read(byte);
    await native.write(byte);
    kept.push(native);
    return;
  }
  const addr = { transport: "unix", address: "" };
  const conn = await secure(
    new SocketConn(native, { localAddr: addr, remoteAddr: addr, bufferSize: 64 * 1024 }),
    {
      role: "responder",
    },
  );
  await conn.read(byte);
  await conn.write(byte);
  kept.push(conn);
}

for (const listener of [unix, tcp]) {
  (async () => {
    for await (const native of listener) {
      serve(native).then(() => {
        if (++count % batch === 0) say("batch");
      }, (err) => say(`error ${err}`));
    }
  })();
}
