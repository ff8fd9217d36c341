/**
 * Bodies between Node's HTTP messages and Web streams, both ways, with
 * backpressure; shared by the server and the client. Private to `http/`.
 *
 * @module
 */

import type { Readable, Writable } from "node:stream";
import { noop } from "../_async/waiter.ts";
import { drained } from "../node/from_duplex.ts";

/** How many body bytes wait in a Web stream before the Node side is paused. */
const BODY_WINDOW = 64 * 1024;

/**
 * A Web stream of a Node message's body (an `IncomingMessage`, either
 * side). It pauses the message while `BODY_WINDOW` bytes wait unread; it
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
  // Node's chunks are views of plain ArrayBuffers (never shared memory).
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
 * Resolves once `emitter` emitted `event` (or `'close'`), or at once if
 * `done()` says it is over already.
 */
export function settled(emitter: Readable | Writable, event: string, done: () => boolean): Promise<void> {
  if (done()) return Promise.resolve();
  return new Promise((resolve) => {
    const finish = () => {
      emitter.off(event, finish);
      emitter.off("close", finish);
      resolve();
    };
    emitter.on(event, finish);
    emitter.on("close", finish);
  });
}

/** What a body turned out to be, found without waiting on a stream that is still producing. */
export type Sniffed =
  | { kind: "empty" }
  | { kind: "whole"; bytes: Uint8Array }
  | { kind: "stream"; head: Uint8Array[]; reader: ReadableStreamDefaultReader<Uint8Array> };

/**
 * Reads the start of `body`: a body that is already all there (a string, a
 * `Uint8Array`, `Response.json()`) comes back whole, so it can go with a
 * `Content-Length`; one that is still being produced comes back as a
 * stream at once, with what was read so far, so that nothing waits on it
 * (a server-sent event stream, an upload the peer waits to see begin).
 */
export async function sniff(body: ReadableStream<Uint8Array>): Promise<Sniffed> {
  const reader = body.getReader();
  const head: Uint8Array[] = [];
  // A body already there settles each read within a microtask or two; two reads tell one chunk from more.
  for (let i = 0; i < 2; i++) {
    const read = reader.read();
    const settled = await settledSoon(read);
    if (settled === null) {
      // Still being produced: stream it, starting with the read already asked for.
      return { kind: "stream", head, reader: prepend(read, reader) };
    }
    if ("error" in settled) throw settled.error;
    const { done, value } = settled.value;
    if (done) {
      // The reader stays locked to a stream that is done: releasing it would cost a TypeError's stack.
      return head.length === 0 ? { kind: "empty" } : { kind: "whole", bytes: head[0] };
    }
    checkChunk(value);
    if (value.byteLength > 0) head.push(value);
    else i--; // An empty chunk says nothing; look again.
  }
  return { kind: "stream", head, reader };
}

/** How `promise` settled, if it did within a few microtasks; `null` if it is still pending. */
async function settledSoon<T>(promise: Promise<T>): Promise<{ value: T } | { error: unknown } | null> {
  let settled: { value: T } | { error: unknown } | null = null;
  promise.then((value) => settled = { value }, (error) => settled = { error });
  for (let tick = 0; tick < 3 && settled === null; tick++) await null;
  return settled as { value: T } | { error: unknown } | null;
}

/** A reader whose next read is `pending` (already asked for), then `reader`'s. */
function prepend(
  pending: Promise<ReadableStreamReadResult<Uint8Array>>,
  reader: ReadableStreamDefaultReader<Uint8Array>,
): ReadableStreamDefaultReader<Uint8Array> {
  let first: Promise<ReadableStreamReadResult<Uint8Array>> | null = pending;
  return {
    read() {
      const next = first ?? reader.read();
      first = null;
      return next;
    },
    cancel: (reason?: unknown) => reader.cancel(reason),
    releaseLock: () => reader.releaseLock(),
    closed: reader.closed,
  } as ReadableStreamDefaultReader<Uint8Array>;
}

/** Checks one chunk of a body a user gave, as fetch does. */
export function checkChunk(chunk: unknown): asserts chunk is Uint8Array {
  if (!(chunk instanceof Uint8Array)) {
    throw new TypeError("a body stream must yield Uint8Array chunks");
  }
}

/**
 * Writes the rest of a streamed body into `out` (a `ServerResponse` or a
 * `ClientRequest`), waiting on `'drain'` whenever it is full, then ends it.
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
