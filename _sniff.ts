/**
 * Telling a body that is all there from one still being produced, without
 * waiting on the latter: what `http/` and `vnet/` decide a body's framing
 * by (a `Content-Length`, or a stream). Private to the package.
 *
 * @module
 */

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

/** Where Deno keeps a body given as text, until something asks for it as a stream; `null` elsewhere. */
let lazyBody: symbol | null | undefined;
const encoder = new TextEncoder();

/**
 * The body of `response` if the platform holds it as text: Deno keeps the
 * body of `new Response(string)` and `Response.json()` as the string itself
 * (its own server writes it out as such) until something asks for `body`,
 * which makes a stream of it; reading that stream back costs more than the
 * rest of a small response. `undefined` when the body is anything else, or
 * on a runtime that keeps no such thing. Ask before anything else of the
 * response (`headers`, `body`, even `bodyUsed`): each makes Deno give the
 * text up. Text that is there was not read (reading gives it up too).
 */
export function lazyText(response: Response): string | undefined {
  if (lazyBody === undefined) {
    lazyBody = Object.getOwnPropertySymbols(new Response("")).find((key) =>
      key.description === "lazy static body"
    ) ?? null;
  }
  if (lazyBody === null) return undefined;
  const text = (response as unknown as Record<symbol, unknown>)[lazyBody];
  return typeof text === "string" ? text : undefined;
}

/** {@linkcode lazyText} as a sniffed body: whole, or empty; `undefined` for a body to {@linkcode sniff}. */
export function staticBody(response: Response): Sniffed | undefined {
  const text = lazyText(response);
  if (text === undefined) return undefined;
  return text === "" ? { kind: "empty" } : { kind: "whole", bytes: encoder.encode(text) };
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
