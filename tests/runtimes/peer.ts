/**
 * What a worker started by a {@linkcode Host} does, on any runtime: it runs
 * the commands of every layer's `peer` (see `layers.ts`), each setting up
 * one peer. `browser_worker.ts` and `node_worker.ts` feed it their messages.
 *
 * @module
 */

import { layers } from "./layers.ts";
import type { PeerCommand } from "./suite.ts";

const commands = new Map<string, PeerCommand>();
for (const layer of layers) {
  for (const [name, command] of Object.entries(layer.peer ?? {})) commands.set(name, command);
}

/** Runs `message` (a `{ cmd, ... }`) if it is a command; the application's other messages are left alone. */
export async function handle(message: unknown, reply: (message: unknown) => void): Promise<void> {
  if (message === null || typeof message !== "object" || !("cmd" in message)) return;
  const m = message as Record<string, unknown> & { cmd: string };
  const command = commands.get(m.cmd);
  if (command === undefined) throw new Error(`no layer has a command ${m.cmd}`);
  await command(m, reply);
}
