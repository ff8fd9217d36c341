/**
 * The codec choice for netchan: encode + decode of the small objects a
 * channel carries (`{ id, name, at: Date, tags: string[] }`), 1,000 per
 * iteration, for each candidate that round-trips the types netchan's default
 * must carry (JSON values, Uint8Array, Date, Map, Set, BigInt, undefined),
 * against JSON (which carries fewer) in the same run.
 *
 * cbor-x is not here: Deno cannot install it from this machine's registry
 * (its optional dependency cbor-extract 2.2.3 lacks builds for some
 * platforms); bench/RESULTS.md has its figures from a run with that
 * dependency pinned by hand.
 */

// @ts-types="msgpackr"
import { Packr } from "msgpackr/index-no-eval";
import { Decoder, Encoder, ExtensionCodec } from "@msgpack/msgpack";
import { msgpackCodec } from "../netchan/mod.ts";

const objects = Array.from({ length: 1000 }, (_, i) => ({
  id: i,
  name: `user-${i}`,
  at: new Date(1_700_000_000_000 + i),
  tags: ["alpha", "beta", String(i % 7)],
}));

// @msgpack/msgpack needs extensions for what MessagePack lacks.
const extensions = new ExtensionCodec();
const inner = () => ({ extensionCodec: extensions, useBigInt64: true });
extensions.register({
  type: 0,
  encode: (v) => v instanceof Map ? new Encoder(inner()).encode([...v]) : null,
  decode: (d) => new Map(new Decoder(inner()).decode(d) as [unknown, unknown][]),
});
extensions.register({
  type: 1,
  encode: (v) => v instanceof Set ? new Encoder(inner()).encode([...v]) : null,
  decode: (d) => new Set(new Decoder(inner()).decode(d) as unknown[]),
});
extensions.register({
  type: 2,
  encode: (v) => v === undefined ? new Uint8Array(0) : null,
  decode: () => undefined,
});
const mpEncoder = new Encoder(inner()), mpDecoder = new Decoder(inner());
const noRecords = new Packr({ moreTypes: true, useRecords: false });
const text = new TextEncoder(), untext = new TextDecoder();

const candidates: [string, (v: unknown) => Uint8Array, (b: Uint8Array) => unknown, boolean][] = [
  [
    "JSON (carries fewer types)",
    (v) => text.encode(JSON.stringify(v)),
    (b) => JSON.parse(untext.decode(b)),
    true,
  ],
  ["msgpackr, no-eval build, records (netchan's default)", msgpackCodec.encode, msgpackCodec.decode, false],
  [
    "msgpackr, no-eval build, no records (Maps come back as objects)",
    (v) => noRecords.pack(v),
    (b) => noRecords.unpack(b),
    false,
  ],
  ["@msgpack/msgpack with extensions", (v) => mpEncoder.encode(v), (b) => mpDecoder.decode(b), false],
];

for (const [name, encode, decode, baseline] of candidates) {
  Deno.bench(`codec: ${name}, 1000 × 60 B`, { group: "encode + decode of small objects", baseline }, () => {
    for (const o of objects) decode(encode(o));
  });
}
