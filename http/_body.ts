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

/** What a body turned out to be, found without waiting on a stream that is still producing. */
export type Sniffed =
  | { kind: "empty" }
  | { kind: "whole"; bytes: Uint8Array }
  | { kind: "stream"; head: Uint8Array[]; reader: ReadableStreamDefaultReader<Uint8Array> };

const PENDING = Symbol("pending");

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
  // A body already there settles each read within a few microtasks; two reads tell one chunk from more.
  for (let i = 0; i < 2; i++) {
    const read = reader.read();
    const first = await Promise.race([read, soon()]);
    const result = first === PENDING ? null : first;
    if (result === null) {
      // Still being produced: stream it, starting with the read already asked for.
      return { kind: "stream", head, reader: prepend(read, reader) };
    }
    if (result.done) {
      reader.releaseLock();
      if (head.length === 0) return { kind: "empty" };
      return { kind: "whole", bytes: head[0] };
    }
    checkChunk(result.value);
    if (result.value.byteLength > 0) head.push(result.value);
    else i--; // An empty chunk says nothing; look again.
  }
  return { kind: "stream", head, reader };
}

/** Resolves with `PENDING` after a few microtasks: enough for a stream that has its bytes to hand them over. */
function soon(): Promise<typeof PENDING> {
  return Promise.resolve().then(noop).then(noop).then(noop).then(() => PENDING);
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
