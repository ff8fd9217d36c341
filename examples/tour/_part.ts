/** What every part of the tour is, and what parts share. */

import type { Conn } from "../../mod.ts";

/** One part of `deno task demo`. */
export interface TourPart {
  /** The heading it prints. */
  title: string;
  /** Runs the part, telling what happens through `say`. */
  run(say: (line: string) => void): Promise<void>;
  /** What its output must show; `tests/demo_test.ts` checks each. */
  expect: RegExp[];
}

export const encoder = new TextEncoder();
export const decoder = new TextDecoder();

/** Reads one line (up to "\n" or EOF), without the newline. */
export async function readLine(conn: Conn): Promise<string> {
  const buf = new Uint8Array(256);
  let text = "";
  while (!text.endsWith("\n")) {
    const n = await conn.read(buf);
    if (n === null) break;
    text += decoder.decode(buf.subarray(0, n));
  }
  return text.trimEnd();
}
