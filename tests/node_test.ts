import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import process from "node:process";
import { Duplex, PassThrough } from "node:stream";
import {
  ConnClosedError,
  connect,
  ConnectionRefusedError,
  ConnError,
  listen,
  pipe,
  ProtocolError,
} from "../mod.ts";
import { ConnSocket, fromDuplex, toDuplex } from "../node/mod.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function readAll(readable: ReadableStream<Uint8Array>): Promise<string> {
  return decoder.decode(await new Response(readable).bytes());
}

/** Collects what a Node readable emits until 'end'. */
async function collect(socket: Duplex): Promise<string> {
  let text = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => text += chunk);
  await once(socket, "end");
  return text;
}

Deno.test("toDuplex: bytes flow both ways, and end() half-closes while the socket still reads", async () => {
  const [a, b] = pipe();
  const socket = toDuplex(a, { allowHalfOpen: true });
  const closed = once(socket, "close");
  socket.write("question");
  socket.end();
  assert.equal(await readAll(b.readable), "question"); // EOF after end(): a half-close
  const answer = collect(socket);
  await b.write(encoder.encode("answer"));
  await b.closeWrite();
  assert.equal(await answer, "answer");
  await closed; // both directions done: the socket and its conn close
  assert.equal(socket.destroyed, true);
  assert.equal(await a.read(new Uint8Array(1)).catch((e) => e.name), "ConnClosedError");
});

Deno.test("toDuplex: like a net.Socket, the peer's EOF ends the writable side unless allowHalfOpen", async () => {
  const [a, b] = pipe();
  const socket = toDuplex(a);
  const events: string[] = [];
  for (const name of ["end", "finish"]) socket.on(name, () => events.push(name));
  const closed = once(socket, "close");
  socket.resume();
  await b.closeWrite();
  assert.equal(await b.read(new Uint8Array(1)), null); // the socket ended its side by itself
  await closed;
  assert.deepEqual(events, ["end", "finish"]);
});

Deno.test("toDuplex: backpressure: a peer that does not read makes write() say wait, and 'drain' comes once it reads", async () => {
  const [a, b] = pipe({ bufferSize: 16 * 1024 });
  const socket = toDuplex(a);
  const chunk = new Uint8Array(8 * 1024);
  let accepted = 0;
  while (socket.write(chunk)) accepted += chunk.length;
  assert.ok(accepted <= 64 * 1024, `write() took ${accepted} bytes before saying wait`);
  const drained = once(socket, "drain");
  let read = 0;
  const reader = (async () => {
    const buf = new Uint8Array(64 * 1024);
    for (let n; (n = await b.read(buf)) !== null;) read += n;
  })();
  await drained;
  socket.end();
  await reader;
  assert.equal(read, accepted + chunk.length);
});

Deno.test("toDuplex: the socket reads from the conn only while its buffer has room", async () => {
  const [a, b] = pipe({ bufferSize: 16 * 1024 });
  const socket = toDuplex(a, { allowHalfOpen: true });
  socket.pause();
  let written = 0;
  const chunk = new Uint8Array(16 * 1024);
  // Nobody reads the socket: the writer must come to wait.
  while (true) {
    const ok = await b.write(chunk, { signal: AbortSignal.timeout(100) }).then(() => true, () => false);
    if (!ok) break;
    written += chunk.length;
    assert.ok(written < 16 * 1024 * 1024, "the socket kept reading into its buffer with nobody reading it");
  }
  socket.destroy();
});

Deno.test("toDuplex: errors keep their class: writing to a closed peer fails with ConnClosedError (EPIPE)", async () => {
  const [a, b] = pipe();
  const socket = toDuplex(a);
  const failed = once(socket, "error");
  // (events.once would reject on the 'error' that comes first.)
  const closed = new Promise<boolean>((resolve) => socket.on("close", resolve));
  b.close();
  socket.write("anyone?");
  const [err] = await failed;
  assert.ok(err instanceof ConnClosedError, `${err}`);
  assert.equal(err.code, "EPIPE");
  assert.equal(await closed, true);
});

Deno.test("toDuplex: net.Socket's API: addresses for TCP, none for memory, state, byte counts", async () => {
  await using listener = await listen({ transport: "tcp", hostname: "127.0.0.1", port: 0 });
  const client = await connect({ transport: "tcp", hostname: "127.0.0.1", port: listener.addr.port });
  await using server = await listener.accept();
  const socket = toDuplex(client);
  assert.equal(socket.remoteAddress, "127.0.0.1");
  assert.equal(socket.remotePort, listener.addr.port);
  assert.equal(socket.remoteFamily, "IPv4");
  assert.equal(socket.localAddress, "127.0.0.1");
  assert.equal(typeof socket.localPort, "number");
  assert.deepEqual(socket.address(), { address: "127.0.0.1", family: "IPv4", port: socket.localPort });
  assert.equal(socket.readyState, "open");
  assert.equal(socket.connecting, false);
  assert.equal(socket.pending, false);
  assert.equal(socket.setNoDelay(true), socket);
  assert.equal(socket.setKeepAlive(true, 1000), socket);
  assert.equal(socket.unref(), socket);
  assert.equal(socket.ref(), socket);
  socket.write("12345");
  await server.read(new Uint8Array(5));
  await server.write(encoder.encode("abc"));
  await once(socket, "readable");
  socket.read();
  assert.equal(socket.bytesWritten, 5);
  assert.equal(socket.bytesRead, 3);
  socket.end();
  await once(socket, "finish");
  assert.equal(socket.readyState, "readOnly");
  socket.destroy();

  const [m] = pipe();
  const memory = toDuplex(m);
  assert.equal(memory.remoteAddress, undefined);
  assert.equal(memory.remotePort, undefined);
  assert.deepEqual(memory.address(), {});
  memory.destroy();
  assert.equal(memory.readyState, "closed");
});

Deno.test("toDuplex: setTimeout emits 'timeout' once idle, keeps the socket open, and 0 turns it off", async () => {
  // A socket's idle timer does not keep the process alive, as in Node: this interval does, for the test.
  const alive = setInterval(() => {}, 1000);
  const [a, b] = pipe();
  const socket = toDuplex(a);
  let timeouts = 0;
  socket.setTimeout(30, () => timeouts++);
  assert.equal(socket.timeout, 30);
  await once(socket, "timeout");
  assert.equal(timeouts, 1);
  assert.equal(socket.destroyed, false);
  // Activity puts the timeout off; then it fires again.
  socket.write("x");
  await b.read(new Uint8Array(1));
  await once(socket, "timeout");
  socket.setTimeout(0);
  assert.equal(socket.timeout, 0);
  socket.destroy();
  b.close();
  clearInterval(alive);
  assert.throws(() => socket.setTimeout(-1), RangeError);
});

Deno.test("toDuplex of a promised conn is connecting, takes writes, then emits 'connect' and 'ready'", async () => {
  await using listener = listen({ transport: "memory" });
  const socket = toDuplex(listener.dialer().dial());
  assert.equal(socket.connecting, true);
  assert.equal(socket.readyState, "opening");
  socket.setNoDelay(true); // applied once the conn is there
  socket.write("early");
  const events: string[] = [];
  socket.on("connect", () => events.push("connect"));
  const ready = once(socket, "ready").then(() => events.push("ready"));
  await using server = await listener.accept();
  await ready;
  assert.deepEqual(events, ["connect", "ready"]);
  assert.equal(socket.connecting, false);
  const buf = new Uint8Array(5);
  await server.read(buf);
  assert.equal(decoder.decode(buf), "early");
  socket.destroy();
});

Deno.test("toDuplex of a conn that never comes emits the connect error, with its class", async () => {
  const socket = toDuplex(connect({ transport: "memory", name: "node-test-nobody" }));
  const [err] = await once(socket, "error");
  assert.ok(err instanceof ConnectionRefusedError, `${err}`);
  assert.equal(err.code, "ECONNREFUSED");
});

Deno.test("toDuplex checks its argument", () => {
  assert.throws(() => toDuplex(42 as never), /takes a Conn/);
  assert.throws(() => toDuplex(pipe()[0], null as never), /options object/);
});

Deno.test("fromDuplex: a Node stream is a Conn: half-close both ways, EOF, writes after close fail", async () => {
  const [a, b] = pipe();
  const conn = fromDuplex(toDuplex(a, { allowHalfOpen: true }), {
    localAddr: a.localAddr,
    remoteAddr: a.remoteAddr,
  });
  await conn.write(encoder.encode("ping"));
  await conn.closeWrite();
  assert.equal(await readAll(b.readable), "ping");
  await b.write(encoder.encode("pong"));
  b.close();
  assert.equal(await readAll(conn.readable), "pong");
  await assert.rejects(conn.write(encoder.encode("x")), ConnClosedError);
  conn.close();
  await conn.closed;
});

Deno.test("fromDuplex: addresses come from a net.Socket, or from the options, or say node:duplex", async () => {
  const server = net.createServer((s) => s.end());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  const socket = net.connect(port, "127.0.0.1");
  await once(socket, "connect");
  const conn = fromDuplex(socket);
  assert.deepEqual(conn.remoteAddr, {
    transport: "tcp",
    address: `127.0.0.1:${port}`,
    hostname: "127.0.0.1",
    port,
  });
  assert.equal(conn.localAddr.transport, "tcp");
  assert.equal(await conn.read(new Uint8Array(1)), null);
  conn.close();
  await new Promise((resolve) => server.close(resolve));
  const plain = fromDuplex(new PassThrough());
  assert.deepEqual(plain.remoteAddr, { transport: "node", address: "duplex" });
  plain.close();
});

Deno.test("fromDuplex: errors keep their class: a Node ECONNRESET is a ConnClosedError, others keep their code", async () => {
  const reset = new PassThrough();
  const conn = fromDuplex(reset);
  const reading = conn.read(new Uint8Array(1)).catch((e) => e);
  reset.destroy(Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }));
  const err = await reading;
  assert.ok(err instanceof ConnClosedError, `${err}`);
  assert.equal((err.cause as Error).message, "read ECONNRESET");

  const odd = new PassThrough();
  const other = fromDuplex(odd);
  const failing = other.read(new Uint8Array(1)).catch((e) => e);
  odd.destroy(Object.assign(new Error("no space"), { code: "ENOSPC" }));
  const second = await failing;
  assert.ok(second instanceof ConnError && second.code === "ENOSPC", `${second}`);

  // A tether error goes through a Node stream and comes out as itself.
  const tetherError = new ProtocolError({ detail: "made here" });
  const carried = new PassThrough();
  const third = fromDuplex(carried);
  const reading3 = third.read(new Uint8Array(1)).catch((e) => e);
  carried.destroy(tetherError);
  assert.equal(await reading3, tetherError);
});

Deno.test("fromDuplex: a stream destroyed from outside reads as the peer leaving", async () => {
  const stream = new PassThrough();
  const conn = fromDuplex(stream);
  stream.write("last words");
  await new Promise((resolve) => setTimeout(resolve, 0));
  stream.destroy();
  assert.equal(await readAll(conn.readable), "last words");
  await assert.rejects(conn.write(encoder.encode("x")), ConnClosedError);
  conn.close();
});

Deno.test("fromDuplex checks its arguments", () => {
  assert.throws(() => fromDuplex({} as never), /Node Duplex/);
  assert.throws(() => fromDuplex(new PassThrough({ objectMode: true })), /object mode/);
  assert.throws(() => fromDuplex(new PassThrough(), { bufferSize: 0 }), RangeError);
});

Deno.test("ConnSocket is what toDuplex makes", () => {
  const [a] = pipe();
  const socket = toDuplex(a);
  assert.ok(socket instanceof ConnSocket);
  assert.ok(socket instanceof Duplex);
  socket.destroy();
});

Deno.test("toDuplex: corked writes of strings in any encoding and bytes reach the peer as one run of the right bytes", async () => {
  const [a, b] = pipe();
  const socket = toDuplex(a);
  // ASCII text and bytes, as Node's HTTP corks a header block with a body.
  socket.cork();
  socket.write("head ", "latin1");
  socket.write(encoder.encode("bytes "));
  socket.write("tail ", "utf8");
  socket.uncork();
  // Text that is not its own bytes.
  socket.cork();
  socket.write("6869", "hex"); // "hi"
  socket.write(" caf\u00e9", "latin1"); // é as the one byte 0xE9
  socket.write(" \u00e9", "utf8"); // é as two bytes
  socket.uncork();
  socket.end();
  const bytes = await new Response(b.readable).bytes();
  assert.deepEqual(
    [...bytes],
    [...encoder.encode("head bytes tail hi caf"), 0xe9, 0x20, 0xc3, 0xa9],
  );
  b.close();
});

Deno.test("toDuplex: as a socket's, data comes after the process.nextTick callbacks queued before it arrived", async () => {
  const [a, b] = pipe();
  const socket = toDuplex(a);
  const order: string[] = [];
  const got = new Promise<void>((resolve) =>
    socket.on("data", () => {
      order.push("data");
      resolve();
    })
  );
  await null; // the socket now waits on a read
  process.nextTick(() => order.push("tick"));
  await b.write(encoder.encode("x")); // promise callbacks all the way: the tick queue would not run in between
  await got;
  assert.deepEqual(order, ["tick", "data"]);
  socket.destroy();
  b.close();
});
