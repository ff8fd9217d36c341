/**
 * The far side of `bench/worker_bench.ts`. Each command brings a port and
 * sets up one kind of peer on it:
 *
 * - `raw-sink` / `conn-sink` (with `every` bytes): counts what arrives and
 *   answers with one byte each time another `every` bytes are in;
 * - `raw-echo` / `conn-echo`: sends every message (every byte) straight back.
 */

/// <reference lib="deno.worker" />

import { portConn } from "../mod.ts";

const ACK = new Uint8Array(1);

self.onmessage = async (event: MessageEvent) => {
  const { cmd, port, every, bufferSize } = event.data as {
    cmd: string;
    port: MessagePort;
    every: number;
    bufferSize?: number;
  };
  switch (cmd) {
    case "raw-sink": {
      let received = 0;
      port.onmessage = (m) => {
        received += (m.data as Uint8Array).byteLength;
        if (received >= every) {
          received -= every;
          port.postMessage(ACK);
        }
      };
      return;
    }
    case "raw-echo":
      port.onmessage = (m) => port.postMessage(m.data);
      return;
    case "conn-sink": {
      const conn = portConn(port, { bufferSize });
      const buf = new Uint8Array(64 * 1024);
      let received = 0;
      for (let n; (n = await conn.read(buf)) !== null;) {
        received += n;
        if (received >= every) {
          received -= every;
          await conn.write(ACK);
        }
      }
      return conn.close();
    }
    case "conn-sink-stream": {
      // The same, reading chunks from `readable` as they come: no copy into a buffer of ours.
      const conn = portConn(port, { bufferSize });
      let received = 0;
      for await (const chunk of conn.readable) {
        received += chunk.byteLength;
        if (received >= every) {
          received -= every;
          await conn.write(ACK);
        }
      }
      return conn.close();
    }
    case "conn-echo": {
      const conn = portConn(port, { bufferSize });
      const buf = new Uint8Array(1);
      for (let n; (n = await conn.read(buf)) !== null;) await conn.write(buf.subarray(0, n));
      return conn.close();
    }
  }
};
