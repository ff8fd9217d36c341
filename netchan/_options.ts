/**
 * Option and argument checks shared by `Exporter` and `Importer`: bad
 * arguments are `TypeError`s and `RangeError`s that name what was wrong.
 * Private to netchan.
 *
 * @module
 */

import type { StandardSchemaV1 } from "@standard-schema/spec";
import { DEFAULT_MAX_MESSAGE_SIZE, MAX_MESSAGE_SIZE_LIMIT } from "../frame.ts";
import { checkWhole, describe } from "../_validate.ts";
import { type Codec, msgpackCodec } from "./codec.ts";
import type { Validated } from "./_link.ts";
import { MAX_CODEC_BYTES, MAX_NAME_BYTES, MAX_WINDOW } from "./_wire.ts";
import { DEFAULT_MAX_ERRORS } from "./_error_log.ts";
import type { MuxOptions } from "../mux/mod.ts";

/**
 * The direction of a channel, named from the importer's side, as in Go's
 * netchan: importers receive from a "recv" channel and send to a "send" one.
 *
 * @example
 * ```ts
 * import type { Direction } from "@tether/tether/netchan";
 *
 * const direction: Direction = "recv";
 * console.log(direction);
 * ```
 */
export type Direction = "recv" | "send";

/** The smallest `maxMessageSize`: room for the largest IMPORT. */
const MIN_MESSAGE_SIZE = 4096;

/** The options both ends take. */
export interface EndpointOptions {
  codec?: Codec;
  maxMessageSize?: number;
  maxErrors?: number;
  mux?: Omit<MuxOptions, "role">;
}

/** The checked options of an endpoint. */
export interface Endpoint {
  readonly codec: Codec;
  readonly maxMessageSize: number;
  readonly maxErrors: number;
  readonly mux: Omit<MuxOptions, "role">;
}

/** The most streams (imports) one conn carries at once, unless `mux.maxStreams` says otherwise. */
export const DEFAULT_MAX_STREAMS = 4096;

/** Checks the options both ends take and fills in the defaults. */
export function checkEndpoint(options: EndpointOptions | undefined, fn: string): Endpoint {
  if (options === undefined) options = {};
  if (options === null || typeof options !== "object") {
    throw new TypeError(`${fn} takes an options object, got ${describe(options)}`);
  }
  const codec = options.codec ?? msgpackCodec;
  if (
    typeof codec !== "object" || codec === null || typeof codec.encode !== "function" ||
    typeof codec.decode !== "function" || typeof codec.name !== "string"
  ) {
    throw new TypeError(`codec must be a Codec { name, encode, decode }, got ${describe(codec)}`);
  }
  const codecBytes = new TextEncoder().encode(codec.name).length;
  if (codecBytes > MAX_CODEC_BYTES) {
    throw new RangeError(`codec name must be at most ${MAX_CODEC_BYTES} bytes of UTF-8, got ${codecBytes}`);
  }
  const maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  checkWhole(maxMessageSize, "maxMessageSize", MIN_MESSAGE_SIZE, MAX_MESSAGE_SIZE_LIMIT);
  const maxErrors = options.maxErrors ?? DEFAULT_MAX_ERRORS;
  checkWhole(maxErrors, "maxErrors", 1, 1 << 20);
  const mux = options.mux ?? {};
  if (mux === null || typeof mux !== "object") {
    throw new TypeError(`mux must be an options object, got ${describe(mux)}`);
  }
  // Imports open in bursts (a thousand at start-up is normal): the backlog of
  // streams not yet accepted must hold as many as may be open at once.
  const maxStreams = mux.maxStreams ?? DEFAULT_MAX_STREAMS;
  return { codec, maxMessageSize, maxErrors, mux: { acceptBacklog: maxStreams, ...mux, maxStreams } };
}

/** Checks a channel name: 1 to 1024 bytes of UTF-8. */
export function checkName(name: unknown): asserts name is string {
  if (typeof name !== "string") throw new TypeError(`channel name must be a string, got ${describe(name)}`);
  const bytes = new TextEncoder().encode(name).length;
  if (bytes < 1 || bytes > MAX_NAME_BYTES) {
    throw new RangeError(`channel name must be 1 to ${MAX_NAME_BYTES} bytes of UTF-8, got ${bytes}`);
  }
}

/** Checks a direction argument. */
export function checkDirection(direction: unknown): asserts direction is Direction {
  if (direction !== "recv" && direction !== "send") {
    throw new TypeError(`direction must be "recv" or "send", got ${describe(direction)}`);
  }
}

/** Checks a `bufferSize` in values (a window). */
export function checkWindow(value: unknown, fallback: number): number {
  return checkWhole(value, "bufferSize", 1, MAX_WINDOW, fallback);
}

/** The validation function of a Standard Schema v1 validator (zod, valibot, arktype...). */
export function validatorOf(
  schema: unknown,
): ((value: unknown) => Validated | Promise<Validated>) | undefined {
  if (schema === undefined) return undefined;
  const standard = (schema as Partial<StandardSchemaV1> | null)?.["~standard"];
  if (standard === undefined || standard === null || typeof standard.validate !== "function") {
    throw new TypeError(
      `schema must be a Standard Schema v1 validator (zod, valibot, arktype...), got ${describe(schema)}`,
    );
  }
  if (standard.version !== 1) {
    throw new TypeError(`schema speaks Standard Schema v${standard.version}, not v1`);
  }
  return (value) => standard.validate(value) as Validated | Promise<Validated>;
}

/** The options object of a call, checked. */
export function checkCallOptions<T extends object>(options: T | undefined, fn: string): T {
  if (options === undefined) return {} as T;
  if (options === null || typeof options !== "object") {
    throw new TypeError(`${fn} takes an options object, got ${describe(options)}`);
  }
  return options;
}
