/** `frames()` round trips, in this isolate and across a real worker. */

import { type Conn, frames, pipe, portConn } from "../../../mod.ts";
import { check, pattern, peerPort, sameBytes, simpleLayer, withWorker } from "../suite.ts";

async function roundTrip(a: Conn, b: Conn | null): Promise<void> {
  const sender = frames(a);
  const echoing = b && (async () => {
    const receiver = frames(b);
    for await (const message of receiver) await receiver.send(message);
    receiver.close();
  })();
  for (const size of [0, 1, 1000, 300_000]) {
    const message = pattern(size);
    await sender.send(message);
    const back = await sender.receive();
    check(back !== null && sameBytes(back, message), `a ${size}-byte message came back changed`);
  }
  await sender.closeWrite();
  check((await sender.receive()) === null, "no end of stream after closeWrite");
  sender.close();
  await echoing;
  await sender.closed;
}

export const framesLayer = simpleLayer("frames", [
  {
    id: "round trip over pipe()",
    async run() {
      const [a, b] = pipe();
      await roundTrip(a, b);
    },
  },
  {
    id: "round trip across a worker",
    run: (host) => withWorker(host, (worker) => roundTrip(portConn(peerPort(worker, "frames-echo")), null)),
  },
], {
  /** `{ cmd: "frames-echo", port }`: echoes each `frames()` message. */
  async "frames-echo"(m) {
    const framed = frames(portConn(m.port as MessagePort));
    for await (const message of framed) await framed.send(message);
    framed.close();
  },
});
