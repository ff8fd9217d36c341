import { connect, listen } from "../../mod.ts";
import { mux } from "../../mux/mod.ts";
import { decoder, encoder, type TourPart } from "./_part.ts";

export const muxed: TourPart = {
  title: "one Unix socket carrying several streams (mux, the yamux protocol)",
  expect: [
    /3 streams over one socket answered: ONE, TWO, THREE/,
    /a stalled stream held up nobody: 4 MiB crossed beside it/,
    /the session closed; the server's loop ended quietly/,
  ],
  async run(say) {
    const dir = await Deno.makeTempDir();
    const path = `${dir}/mux.sock`;
    await using listener = await listen({ transport: "unix", path });
    const serving = (async () => {
      await using session = mux(await listener.accept(), { role: "server" });
      for await (const stream of session) {
        (async () => {
          const text = await new Response(stream.readable).text();
          // The "stall" stream is never answered: its sender fills its window and waits.
          if (text.startsWith("stall")) return;
          await stream.write(encoder.encode(text.length > 100 ? String(text.length) : text.toUpperCase()));
          stream.close();
        })().catch(() => stream.close());
      }
    })();
    const session = mux(await connect({ transport: "unix", path }), { role: "client" });
    const ask = async (body: Uint8Array): Promise<string> => {
      await using stream = await session.open();
      await stream.write(body);
      await stream.closeWrite();
      return decoder.decode(await new Response(stream.readable).bytes());
    };
    const words = await Promise.all(["one", "two", "three"].map((w) => ask(encoder.encode(w))));
    say(`3 streams over one socket answered: ${words.join(", ")}`);
    const stalled = await session.open();
    await stalled.write(encoder.encode("stall"));
    const filling = stalled.write(new Uint8Array(8 * 1024 * 1024)).catch(() => {});
    const size = await ask(new Uint8Array(4 * 1024 * 1024));
    say(`a stalled stream held up nobody: ${Number(size) / (1024 * 1024)} MiB crossed beside it`);
    session.close();
    await filling;
    await serving;
    say("the session closed; the server's loop ended quietly");
    await Deno.remove(dir, { recursive: true });
  },
};
