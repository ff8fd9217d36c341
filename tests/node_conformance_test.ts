import net from "node:net";
import { pipe } from "../mod.ts";
import { fromDuplex, toDuplex } from "../node/mod.ts";
import { testConn } from "../testing/mod.ts";

Deno.test("fromDuplex(toDuplex(conn)) keeps the Conn contract over pipe()", async (t) => {
  await testConn(t, () => {
    const [a, b] = pipe();
    return [
      fromDuplex(toDuplex(a, { allowHalfOpen: true }), { localAddr: a.localAddr, remoteAddr: a.remoteAddr }),
      fromDuplex(toDuplex(b, { allowHalfOpen: true }), { localAddr: b.localAddr, remoteAddr: b.remoteAddr }),
    ];
  });
});

Deno.test("fromDuplex over a real node:net TCP socket keeps the Conn contract", async (t) => {
  const accepted: net.Socket[] = [];
  const waiting: ((s: net.Socket) => void)[] = [];
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    const w = waiting.shift();
    if (w) w(socket);
    else accepted.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  const nextAccepted = () =>
    accepted.length > 0
      ? Promise.resolve(accepted.shift()!)
      : new Promise<net.Socket>((r) => waiting.push(r));
  await testConn(t, async () => {
    const client = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
    await new Promise((resolve, reject) => client.once("connect", resolve).once("error", reject));
    const serverSide = await nextAccepted();
    return [fromDuplex(client), fromDuplex(serverSide)];
  });
  await new Promise((resolve) => server.close(resolve));
});
