/**
 * The layers the runtime suite checks, in order. A new layer adds its
 * module in `layers/` (its checks, and the commands they send workers) and
 * one line here.
 */

import type { Layer } from "./suite.ts";
import { conn } from "./layers/conn.ts";
import { framesLayer } from "./layers/frames.ts";
import { muxLayer } from "./layers/mux.ts";
import { netchanLayer } from "./layers/netchan.ts";
import { secureLayer } from "./layers/secure.ts";
import { socketsLayer } from "./layers/sockets.ts";
import { workerLayer } from "./layers/worker.ts";

export const layers: readonly Layer[] = [
  conn,
  framesLayer,
  secureLayer,
  workerLayer,
  muxLayer,
  netchanLayer,
  socketsLayer,
];
