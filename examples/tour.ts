/**
 * A short tour of tether: `deno task demo`.
 *
 * 1. An echo service on a named in-memory listener, and a client for it.
 * 2. The private listener-and-dialer pattern: a fixture that hands code under
 *    test a way in, with no name and no port.
 * 3. Deadlines and backpressure, as any Conn keeps them.
 * 4. Typed messages over an encrypted channel.
 * 5. The same Conn between two processes, over a Unix socket.
 */

import { type Conn, connect, type Dialer, listen, pipe, typedFrames } from "../mod.ts";
import { secure } from "../crypto/mod.ts";

const PEER = new URL("./unix_peer.ts", import.meta.url).pathname;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const say = (line: string) => console.log(line);

async function readLine(conn: Conn): Promise<string> {
  const buf = new Uint8Array(256);
  let text = "";
  while (!text.endsWith("\n")) {
    const n = await conn.read(buf);
    if (n === null) break;
    text += decoder.decode(buf.subarray(0, n));
  }
  return text.trimEnd();
}

/** The code under test: asks a service for the time, given a way to dial it. */
async function askTime(dialer: Dialer): Promise<string> {
  await using conn = await dialer.dial({ signal: AbortSignal.timeout(1000) });
  await conn.write(encoder.encode("time?\n"));
  return await readLine(conn);
}

// 1. An echo service on a named memory listener.
say("1. echo service on memory:echo");
{
  await using listener = listen({ transport: "memory", name: "echo" });
  const serving = (async () => {
    for await (const conn of listener) {
      // Each conn echoes until its client half-closes.
      conn.readable.pipeTo(conn.writable).catch(() => conn.close());
    }
  })();
  await using client = await connect({ transport: "memory", name: "echo" });
  await client.write(encoder.encode("hello, tether\n"));
  say(`   client sent "hello, tether", got back "${await readLine(client)}"`);
  await client.closeWrite();
  say(`   after closeWrite the echo ends too: read → ${await client.read(new Uint8Array(1))}`);
  listener.close();
  await serving;
  say("   listener closed; for-await loop ended quietly");
}

// 2. A private listener whose dialer is the only way in: a test fixture.
say("2. private listener + dialer as a fixture");
{
  await using fixture = listen({ transport: "memory" });
  const fake = (async () => {
    await using conn = await fixture.accept();
    await readLine(conn);
    await conn.write(encoder.encode("12:00\n"));
  })();
  say(`   ${fixture.addr.address} answered: ${await askTime(fixture.dialer())}`);
  await fake;
}

// 3. Deadlines and backpressure.
say("3. deadlines and backpressure on pipe({ bufferSize: 1024 })");
{
  const [a, b] = pipe({ bufferSize: 1024 });
  const err = await b.read(new Uint8Array(8), { signal: AbortSignal.timeout(50) }).catch((e) => e);
  say(`   a read with a 50 ms deadline and nothing to read: ${err.name}`);
  let written = 0;
  while (true) {
    const ok = await a.write(new Uint8Array(256), { signal: AbortSignal.timeout(50) }).then(
      () => true,
      () => false,
    );
    if (!ok) break;
    written += 256;
  }
  say(`   a writer whose peer never reads stopped after ${written} bytes (the window is 1024)`);
  a.close();
  let drained = 0;
  for (let n; (n = await b.read(new Uint8Array(4096))) !== null;) drained += n;
  say(`   the peer still reads every queued byte after close: ${drained}, then EOF`);
  b.close();
}
// 4. Messages over an encrypted channel: frames() over secure().
say("4. framed messages over secure() with a pre-shared key (Noise NNpsk0)");
{
  const psk = crypto.getRandomValues(new Uint8Array(32));
  await using listener = listen({ transport: "memory" });
  const server = (async () => {
    const conn = await secure(await listener.accept(), { role: "responder", pattern: "NNpsk0", psk });
    await using messages = typedFrames(conn);
    for (let m; (m = await messages.receive()) !== null;) {
      await messages.send({ type: m.type, data: encoder.encode(decoder.decode(m.data).toUpperCase()) });
    }
  })();
  const conn = await secure(await listener.dialer().dial(), { role: "initiator", pattern: "NNpsk0", psk });
  say(`   handshake done: ${conn.protocol}`);
  await using messages = typedFrames(conn);
  await messages.send({ type: 1, data: encoder.encode("shout this") });
  const reply = await messages.receive();
  say(`   sent type 1 "shout this", got type ${reply!.type} "${decoder.decode(reply!.data)}"`);
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
  say(`   a peer with the wrong key gets ${intruder.name}; the server sees ${(await guard).name}`);
}
// 5. A second process on a Unix socket: the same Conn, now between processes.
say("5. a second Deno process over a Unix socket");
{
  const dir = await Deno.makeTempDir();
  const path = `${dir}/tour.sock`;
  const peer = new Deno.Command(Deno.execPath(), {
    args: ["run", `--allow-read=${dir}`, `--allow-write=${dir}`, `--allow-net=unix:${path}`, PEER, path],
    stdout: "piped",
  }).spawn();
  const ready = peer.stdout.getReader();
  await ready.read(); // "ready": the socket file exists, mode 0o600
  ready.releaseLock();
  await peer.stdout.cancel();
  const mode = ((await Deno.stat(path)).mode! & 0o777).toString(8);
  {
    await using conn = await connect({ transport: "unix", path, signal: AbortSignal.timeout(5000) });
    await conn.write(encoder.encode("hello from pid " + Deno.pid + "\n"));
    await conn.closeWrite();
    say(`   socket file mode ${mode}; the peer answered "${await readLine(conn)}"`);
  }
  say(`   the peer exited with code ${(await peer.status).code}`);
  await Deno.remove(dir, { recursive: true });
}
say("done");
