import { connectClient, serve } from "../../ipc/mod.ts";
import { decoder, encoder, type TourPart } from "./_part.ts";

export const ipc: TourPart = {
  title: "ipc: a named server and a client that reconnects by itself",
  expect: [
    /client status: connecting → connected/,
    /the server got type 1 "job 42" and answered type 2 "done 42"/,
    /server restarted; client status: reconnecting → connected; "again" arrived/,
  ],
  async run(say) {
    const name = `tether-tour-${crypto.randomUUID().slice(0, 8)}`;
    const psk = crypto.getRandomValues(new Uint8Array(32));
    let server = await serve({ name, psk });
    const statuses: string[] = [];
    await using client = connectClient({ name, psk, retryDelay: 20 });
    client.addEventListener("statuschange", (event) => statuses.push(event.status));
    await client.ready;
    say(`client status: connecting → ${statuses.join(" → ")}`);
    await client.write(1, encoder.encode("job 42"));
    const { client: sender, message } = await server.read();
    await sender.write(2, encoder.encode(decoder.decode(message.data).replace("job", "done")));
    const reply = await client.read();
    say(
      `the server got type ${message.type} "${
        decoder.decode(message.data)
      }" and answered type ${reply.type} ` +
        `"${decoder.decode(reply.data)}"`,
    );
    statuses.length = 0;
    const lost = new Promise((resolve) => client.addEventListener("statuschange", resolve, { once: true }));
    server.close();
    await lost;
    const writing = client.write(1, encoder.encode("again")); // waits for the reconnect
    server = await serve({ name, psk });
    await writing;
    const again = await server.read();
    say(
      `server restarted; client status: ${statuses.join(" → ")}; "${
        decoder.decode(again.message.data)
      }" arrived`,
    );
    server.close();
  },
};
