/**
 * netchan: named, typed channels between processes and machines, with
 * real flow control.
 *
 * An {@linkcode Exporter} publishes channels by name; an
 * {@linkcode Importer} at the other end of a conn imports them. On the
 * receiving side a channel is a `ReadableStream<T>`, on the sending side a
 * `WritableStream<T>`, so channels compose with `pipeTo`, `pipeThrough` and
 * `for await`. Each import rides its own mux stream (`@tether/tether/mux`)
 * with credit-based flow control: an exporter never sends an importer more
 * values than its `bufferSize` grants, writers wait through the streams'
 * backpressure, and a channel nobody reads never slows another on the same
 * conn. Values are encoded by a {@linkcode Codec} (MessagePack by default)
 * and may be checked with any Standard Schema validator. Delivery is at
 * most once. The wire protocol is in netchan/PROTOCOL.md; the guide is
 * docs/netchan.md.
 *
 * Directions are named from the importer's side, as in Go's netchan: the
 * importer of a "recv" channel receives from it, the importer of a "send"
 * channel sends to it.
 *
 * @example A channel between two endpoints
 * ```ts
 * import { listen } from "@tether/tether";
 * import { Exporter, Importer } from "@tether/tether/netchan";
 *
 * await using listener = listen({ transport: "memory", name: "netchan-doc" });
 * await using exp = new Exporter();
 * const prices = exp.export<{ sku: string; cents: bigint; at: Date }>("prices", "recv");
 * exp.serve(listener);
 *
 * await using imp = await Importer.connect({ transport: "memory", name: "netchan-doc" });
 * const received = imp.import<{ sku: string; cents: bigint; at: Date }>("prices", "recv", { count: 1 });
 * const writer = prices.getWriter();
 * await writer.write({ sku: "tea", cents: 250n, at: new Date() });
 * for await (const price of received) console.log(price.sku, price.cents); // "tea" 250n
 * ```
 *
 * @module
 */

export { type Codec, jsonCodec, msgpackCodec } from "./codec.ts";
export {
  ChannelError,
  type ChannelErrorContext,
  ChannelRefusedError,
  type Issue,
  type RefusalReason,
  UndeliveredError,
  ValidationError,
} from "./errors.ts";
export { Exporter, type ExporterOptions, type ExportOptions } from "./exporter.ts";
export { Importer, type ImporterOptions, type ImportOptions } from "./importer.ts";
export type { Direction } from "./_options.ts";
export type { Schema, SchemaResult } from "./schema.ts";
