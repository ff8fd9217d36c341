/** The parts of the tour, in order; a new layer adds its part here. */

import type { TourPart } from "./_part.ts";
import { echo } from "./echo.ts";
import { fixture } from "./fixture.ts";
import { deadlines } from "./deadlines.ts";
import { messages } from "./messages.ts";
import { processes } from "./processes.ts";
import { worker } from "./worker.ts";
import { muxed } from "./mux.ts";
import { netchan } from "./netchan.ts";
import { http } from "./http.ts";
import { vnet } from "./vnet.ts";
import { ipc } from "./ipc.ts";

export const parts: TourPart[] = [
  echo,
  fixture,
  deadlines,
  messages,
  processes,
  worker,
  muxed,
  netchan,
  http,
  vnet,
  ipc,
];
