/**
 * The page's script: runs the suite in the browser and posts every row,
 * then the end, to `/report` on the server that served the page.
 */

import { layers } from "./layers.ts";
import { describeError, type Row, runSuite } from "./suite.ts";
import { webHost } from "./web_host.ts";

const rows: Row[] = [];
const send = (body: unknown) => fetch("/report", { method: "POST", body: JSON.stringify(body) });

globalThis.addEventListener("unhandledrejection", (event) => {
  rows.push({
    layer: "page",
    id: "unhandled rejection",
    outcome: "failed",
    message: describeError(event.reason),
    ms: 0,
  });
});

try {
  const version = navigator.userAgent.match(/Chrome\/([\d.]+)/)?.[1] ?? navigator.userAgent;
  const host = webHost(`chromium ${version}`, new URL("./browser_worker.js", import.meta.url));
  await runSuite(host, layers, (row) => rows.push(row));
  await send({ runtime: host.runtime, rows });
} catch (err) {
  await send({ runtime: "browser", rows, error: describeError(err) });
}
