/**
 * What the fuzz tests share: their environment knobs, one seeded PRNG (the
 * kit's mulberry32, so that every failure replays from its seed), and the
 * mutations that make sense for any byte stream. Each fuzzer adds its own
 * format's mutations (a length or type field set to an edge value) on top.
 */
import { seededRandom } from "../testing/_random.ts";

/** A number from the environment when the test may read it (`TETHER_FUZZ_ITERATIONS`, `..._SEED`), else `fallback`. */
export function envNumber(name: string, fallback: number): number {
  if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") return fallback;
  const value = Deno.env.get(name);
  if (value === undefined) return fallback;
  const n = Number(value);
  // A typo must not make a fuzz run that tries nothing and passes.
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new TypeError(`${name} must be a whole number, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** A seeded PRNG: the same seed gives the same inputs. */
export class Random {
  readonly #next: () => number;
  constructor(seed: number) {
    this.#next = seededRandom(seed);
  }
  /** A 32-bit unsigned integer. */
  next(): number {
    return Math.floor(this.#next() * 4294967296);
  }
  /** An integer in [0, n). */
  below(n: number): number {
    return n <= 1 ? 0 : Math.floor(this.#next() * n);
  }
  /** One of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)];
  }
  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      const x = this.next();
      out[i] = x;
      if (i + 1 < n) out[i + 1] = x >>> 8;
      if (i + 2 < n) out[i + 2] = x >>> 16;
      if (i + 3 < n) out[i + 3] = x >>> 24;
    }
    return out;
  }
}

/**
 * One mutation any byte stream can take: a bit flipped, the input cut
 * short, up to `maxSplice` random bytes spliced in, or a span of up to
 * `maxDrop` bytes (default: to the end) dropped. A copy; `input` is left alone.
 */
export function mutateBytes(
  random: Random,
  input: Uint8Array,
  options: { maxSplice?: number; maxDrop?: number } = {},
): Uint8Array {
  const at = random.below(input.length + 1);
  switch (random.below(4)) {
    case 0: {
      if (input.length === 0) return input.slice();
      const out = input.slice();
      out[random.below(out.length)] ^= 1 << random.below(8);
      return out;
    }
    case 1:
      return input.slice(0, at);
    case 2:
      return splice(input, at, random.bytes(1 + random.below(options.maxSplice ?? 12)));
    default: {
      const end = at + random.below((options.maxDrop ?? input.length - at) + 1);
      return new Uint8Array([...input.subarray(0, at), ...input.subarray(Math.min(end, input.length))]);
    }
  }
}

/** `input` with `extra` inserted at `at`. */
export function splice(input: Uint8Array, at: number, extra: Uint8Array): Uint8Array {
  return new Uint8Array([...input.subarray(0, at), ...extra, ...input.subarray(at)]);
}
