/**
 * A real Node library that takes a custom socket, over tether: the `ws`
 * WebSocket library, both ends, on Node's own `http.Server` fed conns from a
 * memory listener and a Unix socket through `toDuplex`.
 */

import assert from "node:assert/strict";
import { once } from "node:events";
import http from "node:http";
// @ts-types="@types/ws"
import { WebSocket, WebSocketServer } from "ws";
import { type Conn, connect, listen, type Listener } from "../mod.ts";
import { toDuplex } from "../node/mod.ts";

/** A WebSocket echo service: Node's http.Server and ws, serving every conn `listener` accepts. */
function echoService(listener: Listener): { stop(): Promise<void> } {
  const server = http.createServer((_req, res) => res.writeHead(426).end("WebSockets only"));
  const wss = new WebSocketServer({ noServer: true });
  wss.on("connection", (ws) => {
    ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  server.on("upgrade", (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
  });
  const sockets = new Set<ReturnType<typeof toDuplex>>();
  const accepting = (async () => {
    for await (const conn of listener) {
      const socket = toDuplex(conn, { allowHalfOpen: true });
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      server.emit("connection", socket);
    }
  })();
  return {
    async stop() {
      listener.close();
      await accepting;
      for (const ws of wss.clients) ws.terminate();
      for (const socket of sockets) socket.destroy();
      wss.close();
    },
  };
}

/** Opens a ws client whose socket is a tether conn. */
async function open(dial: () => Promise<Conn>): Promise<WebSocket> {
  const ws = new WebSocket("ws://chat.test/echo", {
    createConnection: () => toDuplex(dial()) as never,
  });
  await once(ws, "open");
  return ws;
}

async function exchange(ws: WebSocket): Promise<void> {
  const replies: { data: Buffer; isBinary: boolean }[] = [];
  ws.on("message", (data: Buffer, isBinary: boolean) => replies.push({ data, isBinary }));
  ws.send("hello over tether");
  const big = new Uint8Array(1024 * 1024).map((_, i) => i % 251);
  ws.send(big);
  while (replies.length < 2) await once(ws, "message");
  assert.equal(replies[0].isBinary, false);
  assert.equal(replies[0].data.toString(), "hello over tether");
  assert.equal(replies[1].isBinary, true);
  assert.deepEqual(new Uint8Array(replies[1].data), big);
  ws.close(1000, "done");
  const [code, reason] = await once(ws, "close");
  assert.equal(code, 1000);
  assert.equal(reason.toString(), "done");
}

Deno.test("ws: a WebSocket client and server, both the ws library, talk over a memory listener", async () => {
  const listener = listen({ transport: "memory" });
  const service = echoService(listener);
  try {
    await exchange(await open(() => listener.dialer().dial()));
    // A plain HTTP request to the same server gets its 426.
    const ws = new WebSocket("ws://chat.test/", {
      createConnection: () => toDuplex(listener.dialer().dial()) as never,
    });
    const refused = new Promise((resolve) => ws.on("error", resolve));
    ws.close(); // before the upgrade: ws reports the abort as an error
    assert.match(String(await refused), /closed before the connection was established/);
  } finally {
    await service.stop();
  }
});

Deno.test("ws: the same over a Unix socket", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/ws.sock`;
  const service = echoService(await listen({ transport: "unix", path }));
  try {
    await exchange(await open(() => connect({ transport: "unix", path })));
  } finally {
    await service.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
