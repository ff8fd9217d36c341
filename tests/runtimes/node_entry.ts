/**
 * Runs the suite under Node and prints one line, `REPORT <json>`. Node's
 * `Worker` is an `EventEmitter`, not a `MessageEndpoint`, so worker conns
 * go through a `MessageChannel` port that the worker listens on.
 */

import process from "node:process";
import { Worker } from "node:worker_threads";
import { layers } from "./layers.ts";
import { describeError, type Host, type Row, runSuite } from "./suite.ts";
import { Inbox } from "./web_host.ts";

const workerFile = new URL("./node_worker.js", import.meta.url);

const host: Host = {
  runtime: `node ${process.version}`,
  startWorker() {
    const worker = new Worker(workerFile);
    const inbox = new Inbox();
    worker.on("message", (message) => inbox.put(message));
    const link = new MessageChannel();
    let linkSent = false;
    return Promise.resolve({
      send: (command, transfer = []) => worker.postMessage(command, transfer as never[]),
      next: () => inbox.take(),
      endpoint: link.port1,
      linkCommand() {
        if (linkSent) throw new Error("one listen command per worker");
        linkSent = true;
        return { fields: { link: link.port2 }, transfer: [link.port2] };
      },
      async terminate() {
        await worker.terminate();
        link.port1.close();
      },
    });
  },
};

const rows: Row[] = [];
let error: string | undefined;
try {
  await runSuite(host, layers, (row) => rows.push(row));
} catch (err) {
  error = describeError(err);
}
console.log(`REPORT ${JSON.stringify({ runtime: host.runtime, rows, error })}`);
// No process.exit(): Node must end on its own, with nothing left holding it open.
