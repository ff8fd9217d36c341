/** What the paired-rounds scripts (`*_rounds.ts`) share. */

/** The median and the quartiles of `xs`. */
export function spread(xs: number[]): [number, number, number] {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return [at(0.5), at(0.25), at(0.75)];
}
