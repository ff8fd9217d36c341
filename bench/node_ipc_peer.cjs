// The node-ipc side of bench/ipc_bench.ts, run by Node with node-ipc 9.2.1
// (the last release before its 2022 protestware). Usage:
//   node node_ipc_peer.cjs server-count ID N | server-echo ID | client-send ID N SIZE |
//                          client-rtt ID TRIPS SIZE | client-connect ID TIMES
"use strict";
const { IPC } = require("node-ipc");

const [mode, id, a, b] = process.argv.slice(2);
const ipc = new IPC();
ipc.config.silent = true;
ipc.config.id = id;
ipc.config.socketRoot = "/tmp/";
ipc.config.appspace = "tether-bench.";
ipc.config.maxRetries = 0;

function median(xs) {
  return [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
}

function report(result) {
  process.stdout.write(JSON.stringify(result) + "\n");
}

if (mode === "server-count") {
  const n = Number(a);
  let got = 0;
  let start = 0;
  ipc.serve(() => {
    ipc.server.on("m", () => {
      if (got === 0) start = performance.now();
      if (++got === n) {
        report({ perSecond: (n - 1) / ((performance.now() - start) / 1000) });
        process.exit(0);
      }
    });
  });
  ipc.server.start();
  setTimeout(() => report("ready"), 50);
} else if (mode === "server-echo") {
  ipc.serve(() => {
    ipc.server.on("m", (data, socket) => ipc.server.emit(socket, "m", data));
  });
  ipc.server.start();
  setTimeout(() => report("ready"), 50);
} else if (mode === "client-send") {
  const n = Number(a);
  const data = "x".repeat(Number(b));
  ipc.connectTo(id, () => {
    ipc.of[id].on("connect", () => {
      for (let i = 0; i < n; i++) ipc.of[id].emit("m", data);
    });
  });
} else if (mode === "client-rtt") {
  const trips = Number(a);
  const data = "x".repeat(Number(b));
  const warmUp = 200;
  const times = [];
  let left = trips + warmUp;
  let start = 0;
  ipc.connectTo(id, () => {
    ipc.of[id].on("connect", () => {
      start = performance.now();
      ipc.of[id].emit("m", data);
    });
    ipc.of[id].on("m", () => {
      if (left-- <= trips) times.push(performance.now() - start);
      if (left === 0) {
        report({ microseconds: median(times) * 1000 });
        process.exit(0);
      }
      start = performance.now();
      ipc.of[id].emit("m", data);
    });
  });
} else if (mode === "client-connect") {
  const count = Number(a);
  const WARM_UP_CONNECTS = 200; // as ipc_bench_peer.ts
  const times = [];
  const once = (i) => {
    const client = new IPC();
    client.config.silent = true;
    client.config.socketRoot = "/tmp/";
    client.config.appspace = "tether-bench.";
    const start = performance.now();
    client.connectTo(id, () => {
      client.of[id].on("connect", () => {
        if (i >= WARM_UP_CONNECTS) times.push(performance.now() - start); // the JIT's steady state
        client.disconnect(id);
        if (i + 1 === count + WARM_UP_CONNECTS) {
          report({ milliseconds: median(times) });
          process.exit(0);
        }
        setTimeout(() => once(i + 1), 1);
      });
    });
  };
  once(0);
}
