/// <reference lib="deno.worker" />
/** The worker of the web host: `peer.ts` on `self`. */

import { handle } from "./peer.ts";

self.onmessage = (event: MessageEvent) => handle(event.data, (message) => self.postMessage(message));
