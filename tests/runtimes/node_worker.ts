/** The worker of the Node host: `peer.ts` on `parentPort`. */

import { parentPort } from "node:worker_threads";
import { handle } from "./peer.ts";

parentPort!.on("message", (message) => handle(message, (reply) => parentPort!.postMessage(reply)));
