import { listen, typedFrames } from "../../mod.ts";
import { secure } from "../../crypto/mod.ts";
import { decoder, encoder, type TourPart } from "./_part.ts";

export const messages: TourPart = {
  title: "framed messages over secure() with a pre-shared key (Noise NNpsk0)",
  expect: [/got type 1 "SHOUT THIS"/, /wrong key gets HandshakeError; the server sees HandshakeError/],
  async run(say) {
    const psk = crypto.getRandomValues(new Uint8Array(32));
    await using listener = listen({ transport: "memory" });
    const server = (async () => {
      const conn = await secure(await listener.accept(), { role: "responder", pattern: "NNpsk0", psk });
      await using messages = typedFrames(conn);
      for await (const m of messages) {
        await messages.send({ type: m.type, data: encoder.encode(decoder.decode(m.data).toUpperCase()) });
      }
    })();
    const conn = await secure(await listener.dialer().dial(), { role: "initiator", pattern: "NNpsk0", psk });
    say(`handshake done: ${conn.protocol}`);
    await using messages = typedFrames(conn);
    await messages.send({ type: 1, data: encoder.encode("shout this") });
    const reply = await messages.receive();
    say(`sent type 1 "shout this", got type ${reply!.type} "${decoder.decode(reply!.data)}"`);
    await messages.closeWrite();
    await server;
    const guard = listener.accept().then((conn) =>
      secure(conn, { role: "responder", pattern: "NNpsk0", psk }).catch((e) => e)
    );
    const intruder = await secure(await listener.dialer().dial(), {
      role: "initiator",
      pattern: "NNpsk0",
      psk: new Uint8Array(32),
    }).catch((e) => e);
    say(`a peer with the wrong key gets ${intruder.name}; the server sees ${(await guard).name}`);
  },
};
