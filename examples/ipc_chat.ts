/**
 * A chat over ipc between three processes, in one command:
 * `deno task ipc-chat`.
 *
 * This process serves a chat room (many clients, a PSK they all know) and
 * starts two more copies of this file as the clients "alice" and "bob".
 * Each client says two lines; the room broadcasts every line to everyone;
 * each client prints what it hears and leaves once it has heard all four.
 */

import { connectClient, type IpcStatusEvent, serve, type ServerClient } from "../ipc/mod.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const SAY = 1;
const LINES = ["hello, room", "bye for now"];

async function room(): Promise<void> {
  const name = `tether-chat-${Deno.pid}`;
  const psk = crypto.getRandomValues(new Uint8Array(32));
  await using server = await serve({ name, psk, multiClient: true });
  server.addEventListener("statuschange", (event: IpcStatusEvent<ServerClient>) => {
    if (event.client) console.log(`room: client ${event.client.id} ${event.status}`);
  });
  console.log(`room: serving "${name}" at ${server.addr.address}`);
  const people = ["alice", "bob"];
  const children = people.map((who) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", import.meta.filename!, who, name, btoa(String.fromCharCode(...psk))],
    }).spawn()
  );
  // Everyone must be in before the first line, so that nobody misses one.
  while (server.clients.size < people.length) await new Promise((r) => setTimeout(r, 10));
  await server.broadcast(SAY, encoder.encode("room: everyone is here"));
  (async () => {
    for await (const { message } of server) await server.broadcast(message.type, message.data);
  })();
  for (const child of children) await child.status;
  console.log("room: everyone left");
}

async function person(who: string, name: string, pskText: string): Promise<void> {
  const psk = Uint8Array.from(atob(pskText), (c) => c.charCodeAt(0));
  await using client = connectClient({ name, psk, timeout: 5000 });
  await client.ready;
  const heard: string[] = [];
  const first = await client.read(); // "everyone is here"
  console.log(`${who} hears: ${decoder.decode(first.data)}`);
  for (const line of LINES) await client.write(SAY, encoder.encode(`${who}: ${line}`));
  while (heard.length < LINES.length * 2) {
    const { data } = await client.read({ signal: AbortSignal.timeout(5000) });
    heard.push(decoder.decode(data));
    console.log(`${who} hears: ${heard.at(-1)}`);
  }
}

if (import.meta.main) {
  const [who, name, psk] = Deno.args;
  if (who === undefined) await room();
  else await person(who, name, psk);
}
