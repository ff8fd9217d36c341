/**
 * Bodies between Node's HTTP messages and Web streams, both ways, with
 * backpressure, for the server. Private to `http/`.
 *
 * @module
 */

import type { Readable, Writable } from "node:stream";
import { noop } from "../_async/waiter.ts";
import { drained } from "../node/from_duplex.ts";
import { checkChunk } from "../_sniff.ts";

export { checkChunk, lazyText, sniff, type Sniffed, staticBody } from "../_sniff.ts";

/** How many body bytes wait in a Web stream before its source is paused (the server's Node side, the client's conn). */
export const BODY_WINDOW = 64 * 1024;

/**
 * A Web stream of a Node message's body (the server's `IncomingMessage`).
 * It pauses the message while `BODY_WINDOW` bytes wait unread; it
 * errors with what `broken()` returns when the message ends early. On
 * cancel, `onCancel` decides what becomes of the rest.
 */
export function bodyStream(
  message: Readable & { complete?: boolean },
  broken: (cause: unknown) => unknown,
  onCancel: () => void,
): ReadableStream<Uint8Array> {
  let state: "open" | "done" = "open";
  return new ReadableStream<Uint8Array>({
    start(controller) {
      message.on("data", (chunk: Uint8Array) => {
        if (state === "done") return;
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((controller.desiredSize ?? 0) <= 0) message.pause();
      });
      message.on("end", () => {
        if (state === "done") return;
        state = "done";
        controller.close();
      });
      const fail = (cause: unknown) => {
        if (state === "done") return;
        state = "done";
        controller.error(broken(cause));
      };
      message.on("error", fail);
      message.on("close", () => {
        if (message.complete === false) fail(undefined);
      });
    },
    pull() {
      message.resume();
    },
    cancel() {
      state = "done";
      onCancel();
    },
  }, { highWaterMark: BODY_WINDOW, size: (chunk) => chunk.byteLength });
}

/**
 * The whole body of `message`, if all of it had arrived by the time the
 * parser returned (a small JSON body, say): a `Request` or `Response` made
 * from bytes costs far less than one made from a stream. `undefined` when
 * more is still to come: stream it then.
 */
export async function arrived(
  message: Readable & { complete?: boolean },
): Promise<Uint8Array<ArrayBuffer> | undefined> {
  // The parser hands over all the bytes it has before this continues.
  await null;
  if (message.complete !== true) return undefined;
  const parts: Uint8Array[] = [];
  for (let chunk; (chunk = message.read()) !== null;) parts.push(chunk);
  return joined(parts);
}

/**
 * A body's parts as one: the part itself when there is one (Node's chunks
 * are views of plain ArrayBuffers, never shared memory), else a copy of all.
 */
export function joined(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  if (parts.length === 1) return parts[0] as Uint8Array<ArrayBuffer>;
  const whole = new Uint8Array(parts.reduce((n, part) => n + part.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    whole.set(part, at);
    at += part.byteLength;
  }
  return whole;
}

/**
 * Writes the rest of a streamed body into `out` (a `ServerResponse`),
 * waiting on `'drain'` whenever it is full, then ends it.
 * Returns early, cancelling the body, once `out` is destroyed.
 */
export async function pumpBody(
  head: Uint8Array[],
  reader: ReadableStreamDefaultReader<Uint8Array>,
  out: Writable,
): Promise<void> {
  const gone = () => void reader.cancel().catch(noop);
  out.once("close", gone);
  try {
    for (const chunk of head) {
      if (!out.write(chunk)) await drained(out);
    }
    while (!out.destroyed) {
      const { done, value } = await reader.read();
      if (done) break;
      checkChunk(value);
      if (out.destroyed) break;
      if (!out.write(value)) await drained(out);
    }
    if (!out.destroyed) out.end();
  } finally {
    out.off("close", gone);
  }
}
