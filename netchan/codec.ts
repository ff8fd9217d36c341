/**
 * How channel values become bytes: the {@linkcode Codec} interface, the
 * default {@linkcode msgpackCodec}, and {@linkcode jsonCodec}.
 *
 * The default is MessagePack through msgpackr, in its build that never
 * generates code (`msgpackr/index-no-eval`): Cloudflare Workers and other
 * edge and worker isolates refuse `new Function`, and that build works there
 * unchanged. It was picked by a benchmark on the objects channels carry
 * (`bench/netchan_codec_bench.ts`, figures in `bench/RESULTS.md`): the
 * fastest candidate that round-trips every type below and installs from
 * npm as it is.
 *
 * @module
 */

// @ts-types="msgpackr"
import { Packr } from "msgpackr/index-no-eval";

/**
 * Turns values into bytes and back. Both ends of a channel must use codecs
 * of the same `name`: an import whose codec name differs from the
 * exporter's is refused, rather than left to decode garbage.
 *
 * `encode` may throw for a value it cannot carry: the write of that value
 * rejects with the error. `decode` throws for bytes that are not one whole
 * value: the channel treats that as a `ProtocolError` from the peer.
 *
 * @example A codec of your own
 * ```ts
 * import type { Codec } from "@tether/tether/netchan";
 *
 * const text: Codec = {
 *   name: "utf-8 text",
 *   encode: (value) => new TextEncoder().encode(String(value)),
 *   decode: (bytes) => new TextDecoder("utf-8", { fatal: true }).decode(bytes),
 * };
 * console.log(text.decode(text.encode("hi"))); // "hi"
 * ```
 */
export interface Codec {
  /** The name both ends compare; up to 255 bytes of UTF-8. */
  readonly name: string;
  /** The bytes of one value. */
  encode(value: unknown): Uint8Array;
  /** The value of `bytes`, all of which must be one encoded value. */
  decode(bytes: Uint8Array): unknown;
}

/**
 * The default codec: MessagePack (msgpackr's encoding, with its record and
 * "more types" extensions), named `"msgpackr"`. It round-trips JSON values
 * plus `Uint8Array` (as MessagePack bin, raw bytes), `Date` (the standard
 * timestamp extension, millisecond precision), `Map`, `Set`, `BigInt` (of
 * any size) and `undefined`, nested anywhere. Typed arrays other than
 * `Uint8Array`, `RegExp` and `Error` come back as their own types too.
 * Functions and symbols are not values: they encode as `undefined`.
 *
 * @example
 * ```ts
 * import { msgpackCodec } from "@tether/tether/netchan";
 *
 * const value = { at: new Date(0), ids: new Set([1n, 2n]), raw: new Uint8Array([1, 2]) };
 * console.log(msgpackCodec.decode(msgpackCodec.encode(value))); // the same shape, types kept
 * ```
 */
export const msgpackCodec: Codec = (() => {
  // moreTypes adds Set, big BigInts, typed arrays, Error and RegExp; records
  // (on by default) encode plain objects apart from Maps, so both come back
  // as what they were. Each value is encoded on its own: record definitions
  // travel inline, never shared between values, since each importer sees
  // only some of a channel's values.
  const packr = new Packr({ moreTypes: true });
  return {
    name: "msgpackr",
    encode: (value) => packr.pack(value),
    decode: (bytes) => packr.unpack(bytes),
  };
})();

/**
 * A JSON codec, named `"json"`: for peers that speak only JSON, or for
 * reading a channel's bytes by eye. It carries JSON values only: `Date`
 * arrives as its ISO string, `undefined` properties vanish, and `Map`,
 * `Set`, `BigInt` and `Uint8Array` are refused with a `TypeError` on
 * encode rather than silently mangled.
 *
 * @example
 * ```ts
 * import { jsonCodec } from "@tether/tether/netchan";
 *
 * console.log(new TextDecoder().decode(jsonCodec.encode({ id: 1 }))); // {"id":1}
 * ```
 */
export const jsonCodec: Codec = {
  name: "json",
  encode(value) {
    const text = JSON.stringify(value, (key, v) => {
      if (typeof v === "bigint" || v instanceof Map || v instanceof Set || v instanceof Uint8Array) {
        const what = typeof v === "bigint" ? "a BigInt" : `a ${v.constructor.name}`;
        throw new TypeError(
          `jsonCodec cannot encode ${what}${key ? ` (at key ${JSON.stringify(key)})` : ""}: use msgpackCodec`,
        );
      }
      return v;
    });
    if (text === undefined) throw new TypeError(`jsonCodec cannot encode ${typeof value}`);
    return new TextEncoder().encode(text);
  },
  decode: (bytes) => JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)),
};
