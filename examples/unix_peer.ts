/**
 * The other process in the tour: listens on the Unix socket given as its
 * argument, says "ready", upper-cases one client's bytes until it
 * half-closes, then exits.
 */

import { listen } from "../mod.ts";

await using listener = await listen({ transport: "unix", path: Deno.args[0] });
console.log("ready");
await using conn = await listener.accept();
await conn.readable
  .pipeThrough(new TextDecoderStream())
  .pipeThrough(new TransformStream({ transform: (text, out) => out.enqueue(text.toUpperCase()) }))
  .pipeThrough(new TextEncoderStream())
  .pipeTo(conn.writable);
