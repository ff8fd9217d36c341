/**
 * The child process of the frame allocation test: it waits for a line on
 * stdin (its parent caps its address space meanwhile), then receives a frame
 * whose header announces 1 GiB and prints what happened as JSON.
 */

import { ConnClosedError, frames, MAX_MESSAGE_SIZE_LIMIT, pipe } from "../mod.ts";
import { header } from "./frame_helpers.ts";

const encoder = new TextEncoder();
await Deno.stdout.write(encoder.encode("ready\n"));
await Deno.stdin.readable.getReader().read(); // the parent's go-ahead

const [a, b] = pipe({ bufferSize: 128 * 1024 });
const receiver = frames(b, { maxMessageSize: MAX_MESSAGE_SIZE_LIMIT });
// A header for the largest message allowed, and enough body that the
// receiver sets aside its buffer.
await a.write(header(MAX_MESSAGE_SIZE_LIMIT));
await a.write(new Uint8Array(40 * 1024));
const err = await receiver.receive().then(() => null, (e) => e);
const peerWrite = await a.write(new Uint8Array(1)).then(() => null, (e) => e);
await receiver.closed;
a.close();
console.log(JSON.stringify({
  name: err?.name ?? null,
  message: err?.message ?? null,
  causeName: err?.cause?.name ?? null,
  closed: peerWrite instanceof ConnClosedError,
}));
