/**
 * {@linkcode fromDuplex}: a Node `Duplex` (a `net.Socket`, a TLS socket, an
 * SSH channel, any byte stream) as a tether {@linkcode Conn}.
 *
 * @example
 * ```ts
 * import net from "node:net";
 * import { fromDuplex } from "@tether/tether/node";
 *
 * const server = net.createServer((socket) => socket.pipe(socket)); // echo
 * await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
 * const { port } = server.address() as net.AddressInfo;
 * const socket = net.connect(port, "127.0.0.1");
 * await using conn = fromDuplex(socket);
 * await conn.write(new TextEncoder().encode("echo"));
 * console.log(await conn.read(new Uint8Array(4)), conn.remoteAddr.port === port); // 4 true
 * conn.close();
 * await new Promise((resolve) => server.close(resolve));
 * ```
 *
 * @module
 */

import type { Duplex, Writable } from "node:stream";
import type { Addr } from "../conn.ts";
import { ConnClosedError } from "../errors.ts";
import { ByteQueue } from "../byte_queue.ts";
import { QueueConn } from "../queue_conn.ts";
import { checkBufferSize, checkOptions, describe } from "../_validate.ts";
import { fromNodeError } from "./_errors.ts";

/**
 * Options of {@linkcode fromDuplex}.
 *
 * @example
 * ```ts
 * import { PassThrough } from "node:stream";
 * import { fromDuplex, type FromDuplexOptions } from "@tether/tether/node";
 *
 * const options: FromDuplexOptions = {
 *   localAddr: { transport: "ssh", address: "client" },
 *   remoteAddr: { transport: "ssh", address: "db.internal:5432" },
 *   bufferSize: 16 * 1024,
 * };
 * const conn = fromDuplex(new PassThrough(), options);
 * console.log(conn.remoteAddr.address); // "db.internal:5432"
 * conn.close();
 * ```
 */
export interface FromDuplexOptions {
  /** This end's address; by default taken from a `net.Socket`'s `localAddress`/`localPort`, else `node:duplex`. */
  localAddr?: Addr;
  /** The peer's address; by default taken from a `net.Socket`'s `remoteAddress`/`remotePort`, else `node:duplex`. */
  remoteAddr?: Addr;
  /** Bytes queued per direction between the conn and the stream; default 64 KiB. */
  bufferSize?: number;
}

const encoder = new TextEncoder();

/**
 * Makes a {@linkcode Conn} over a Node `Duplex`, which it owns from then on.
 *
 * - Backpressure both ways: the stream is paused while the conn's inbound
 *   window is full, and the conn's writes wait while the stream's
 *   `write()` says it is full and the window is used up.
 * - Half-close both ways: the stream's `'end'` is the conn's EOF;
 *   `closeWrite()` is `end()`.
 * - `close()` destroys the stream (bytes the stream itself still buffers
 *   are dropped, as with Node's `destroy()`; `closeWrite()` first for a
 *   graceful end). A stream destroyed from outside reads as the peer
 *   closing: EOF, then writes fail with `ConnClosedError`.
 * - Errors keep their class: a tether `ConnError` (from a socket made by
 *   `toDuplex`) comes out as it went in; a Node error becomes the class its
 *   `code` names (`EPIPE`, `ECONNRESET` → `ConnClosedError`,
 *   `ECONNREFUSED` → `ConnectionRefusedError`, others a `ConnError` with
 *   that code), with the original as its `cause`.
 *
 * @example A half-close both ways
 * ```ts
 * import { pipe } from "@tether/tether";
 * import { fromDuplex, toDuplex } from "@tether/tether/node";
 *
 * const [a, b] = pipe();
 * const conn = fromDuplex(toDuplex(a, { allowHalfOpen: true }));
 * await conn.write(new TextEncoder().encode("question"));
 * await conn.closeWrite(); // b reads EOF after "question"
 * console.log(new TextDecoder().decode(await new Response(b.readable).bytes())); // "question"
 * await b.write(new TextEncoder().encode("answer"));
 * console.log(await conn.read(new Uint8Array(6))); // 6
 * conn.close();
 * ```
 */
export function fromDuplex(duplex: Duplex, options: FromDuplexOptions = {}): QueueConn {
  checkOptions(options, "fromDuplex");
  if (
    typeof duplex !== "object" || duplex === null || typeof duplex.write !== "function" ||
    typeof duplex.on !== "function"
  ) {
    throw new TypeError(`fromDuplex() takes a Node Duplex stream, got ${describe(duplex)}`);
  }
  if (duplex.readableObjectMode || duplex.writableObjectMode) {
    throw new TypeError("fromDuplex() takes a byte stream: this Duplex is in object mode");
  }
  const bufferSize = checkBufferSize(options.bufferSize);
  const socket = duplex as Partial<NetSocketFields>;
  const localAddr = options.localAddr ?? netAddr(socket.localAddress, socket.localPort);
  const remoteAddr = options.remoteAddr ?? netAddr(socket.remoteAddress, socket.remotePort);
  const where = `${remoteAddr.transport}:${remoteAddr.address}`;
  const inbound = new ByteQueue({ window: bufferSize });
  const outbound = new ByteQueue({ window: bufferSize });
  const conn = new QueueConn({
    localAddr,
    remoteAddr,
    inbound,
    outbound,
    onClose: () => duplex.destroy(),
    // Reading stopped for good: keep draining the stream, dropping its bytes, so the peer's writes complete.
    onCancelRead: () => duplex.resume(),
  });

  const resume = () => duplex.resume();
  duplex.on("data", (chunk: Uint8Array | string) => {
    const bytes = typeof chunk === "string" ? encoder.encode(chunk) : chunk;
    const queued = inbound.writeNow(bytes);
    if (typeof queued === "number") return;
    // Over the window, or nobody reads any more: wait (or drop), then go on.
    duplex.pause();
    queued.then(resume, resume);
  });
  const ended = () => void inbound.closeWrite();
  duplex.on("error", (err: unknown) => {
    inbound.abortWrite(fromNodeError(err, "read", where), fromNodeError(err, "read", where));
    outbound.closeRead(fromNodeError(err, "write", where));
  });
  const closed = () => {
    // Destroyed with no error and no 'end': the peer went away. Queued bytes still reach the reader.
    inbound.abortWrite(new ConnClosedError({ op: "read", addr: where, detail: "the stream was destroyed" }));
    outbound.closeRead(new ConnClosedError({ op: "write", addr: where, detail: "the stream was destroyed" }));
  };
  if (duplex.readableEnded) ended();
  else duplex.on("end", ended);
  if (duplex.destroyed) closed();
  else duplex.on("close", closed);
  void pumpOut(duplex, outbound);
  return conn;
}

/** Moves the conn's outbound bytes into the stream, waiting while it is full; ends it at EOF. */
async function pumpOut(duplex: Duplex, outbound: ByteQueue): Promise<void> {
  while (true) {
    let chunk: Uint8Array | null;
    try {
      chunk = outbound.readChunkNow() ?? await outbound.readChunk();
    } catch {
      return; // The conn or the stream closed.
    }
    if (chunk === null) {
      if (!duplex.destroyed) duplex.end();
      return;
    }
    if (duplex.destroyed) return;
    if (!duplex.write(chunk)) await drained(duplex);
  }
}

/** Resolves on the stream's `'drain'`, or once it is closed. */
export function drained(duplex: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      duplex.off("drain", done);
      duplex.off("close", done);
      resolve();
    };
    duplex.on("drain", done);
    duplex.on("close", done);
  });
}

interface NetSocketFields {
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
}

/** A TCP address from a socket's IP and port, or `node:duplex` for a stream that has none. */
function netAddr(hostname: unknown, port: unknown): Addr {
  if (typeof hostname !== "string" || typeof port !== "number") {
    return { transport: "node", address: "duplex" };
  }
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  return { transport: "tcp", address: `${host}:${port}`, hostname, port };
}
