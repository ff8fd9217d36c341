import { connect, listen } from "../../mod.ts";
import { encoder, readLine, type TourPart } from "./_part.ts";

export const echo: TourPart = {
  title: "an echo service on memory:echo",
  expect: [/got back "hello, tether"/, /a rude client left; the server is still serving: "still here"/],
  async run(say) {
    await using listener = listen({ transport: "memory", name: "echo" });
    const serving = (async () => {
      for await (const conn of listener) {
        // Each conn echoes until its client half-closes. A client may also
        // leave without reading: the echo then fails, and only that conn ends.
        conn.readable.pipeTo(conn.writable).catch(() => conn.close());
      }
    })();
    await using client = await connect({ transport: "memory", name: "echo" });
    await client.write(encoder.encode("hello, tether\n"));
    say(`client sent "hello, tether", got back "${await readLine(client)}"`);
    // A rude client: writes, then closes without reading the echo.
    const rude = await connect({ transport: "memory", name: "echo" });
    await rude.write(encoder.encode("not reading the answer\n"));
    rude.close();
    await using polite = await connect({ transport: "memory", name: "echo" });
    await polite.write(encoder.encode("still here\n"));
    say(`a rude client left; the server is still serving: "${await readLine(polite)}"`);
    await client.closeWrite();
    say(`after closeWrite the echo ends too: read → ${await client.read(new Uint8Array(1))}`);
    listener.close();
    await serving;
    say("listener closed; the for-await loop ended quietly");
  },
};
