/**
 * The shape of a Standard Schema v1 validator, as netchan uses it: what
 * zod, valibot, arktype and the other implementations of
 * [Standard Schema](https://standardschema.dev) (`@standard-schema/spec`)
 * all provide.
 *
 * @module
 */

import type { StandardSchemaV1 } from "@standard-schema/spec";

/**
 * A Standard Schema v1 validator whose output is `T`: zod, valibot,
 * arktype and every other implementation of `@standard-schema/spec` fit it.
 * It is the spec's `StandardSchemaV1<unknown, T>`, less the parts netchan
 * does not use.
 *
 * @example
 * ```ts
 * import type { Schema } from "@tether/tether/netchan";
 *
 * const even: Schema<number> = {
 *   "~standard": {
 *     version: 1,
 *     vendor: "example",
 *     validate: (v) => typeof v === "number" && v % 2 === 0 ? { value: v } : { issues: [{ message: "odd" }] },
 *   },
 * };
 * console.log(even["~standard"].validate(2)); // { value: 2 }
 * ```
 */
export interface Schema<T = unknown> {
  /** The Standard Schema properties. */
  readonly "~standard": {
    /** The spec's version: 1. */
    readonly version: 1;
    /** Who made the validator. */
    readonly vendor: string;
    /** Checks a value: its output, or the issues found. May be async. */
    readonly validate: (
      value: unknown,
    ) => SchemaResult<T> | Promise<SchemaResult<T>>;
  };
}

/**
 * What a {@linkcode Schema}'s `validate` returns: the value (as the schema
 * outputs it), or the issues.
 *
 * @example
 * ```ts
 * import type { SchemaResult } from "@tether/tether/netchan";
 *
 * const ok: SchemaResult<number> = { value: 1 };
 * const bad: SchemaResult<number> = { issues: [{ message: "not a number" }] };
 * console.log(ok, bad);
 * ```
 */
export type SchemaResult<T> =
  | { readonly value: T; readonly issues?: undefined }
  | {
    readonly issues: ReadonlyArray<
      { readonly message: string; readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> }
    >;
  };

// Every StandardSchemaV1 is a Schema: checked here, at compile time.
type Assignable<A extends B, B> = A;
export type _SpecFits = Assignable<StandardSchemaV1<unknown, "x">, Schema<"x">>;
