/**
 * The tether side of bench/ipc_bench.ts: one end of each measurement, in a
 * process of its own. Usage: `ipc_bench_peer.ts MODE NAME ARGS...`; it
 * prints "ready" when a server listens, and one JSON result when done.
 */

import { connect, listen } from "../mod.ts";
import { connectClient, serve } from "../ipc/mod.ts";

const [mode, name, a, b, c] = Deno.args;
const report = (result: unknown) => console.log(JSON.stringify(result));
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const encryption = c !== "plain";
/**
 * Connects made before the measured ones, as the round trips warm up with
 * 200 trips. A process's connects keep getting faster for hundreds of
 * connects as the JIT optimizes the path (encrypted, in one process on
 * 2026-12-01: median 0.88 ms for connects 20-220, 0.77 for 220-420, 0.60
 * after 620), so after only 20 the median measured the warm-up.
 */
const WARM_UP_CONNECTS = 200;

switch (mode) {
  case "server-count": {
    const n = Number(a);
    await using server = await serve({ name, encryption: b !== "plain" });
    report("ready");
    await server.read();
    const start = performance.now();
    for (let i = 1; i < n; i++) await server.read();
    report({ perSecond: (n - 1) / ((performance.now() - start) / 1000) });
    break;
  }
  case "server-echo": {
    await using server = await serve({ name, encryption: a !== "plain", multiClient: true });
    report("ready");
    for await (const { client, message } of server) client.write(message.type, message.data).catch(() => {});
    break;
  }
  case "client-send": {
    await using client = connectClient({ name, encryption, timeout: 10_000 });
    const data = new Uint8Array(Number(b));
    await client.ready;
    for (let i = 0, n = Number(a); i < n; i++) await client.write(1, data);
    // Wait for the server to have read them: it exits once it has.
    await new Promise((resolve) => client.addEventListener("statuschange", resolve, { once: true }));
    break;
  }
  case "client-rtt": {
    await using client = connectClient({ name, encryption, timeout: 10_000 });
    const data = new Uint8Array(Number(b));
    await client.ready;
    const trips = Number(a);
    for (let i = 0; i < 200; i++) { // warm-up
      await client.write(1, data);
      await client.read();
    }
    const times: number[] = [];
    for (let i = 0; i < trips; i++) {
      const start = performance.now();
      await client.write(1, data);
      await client.read();
      times.push(performance.now() - start);
    }
    report({ microseconds: median(times) * 1000 });
    break;
  }
  case "client-connect": {
    const count = Number(a);
    const times: number[] = [];
    for (let i = 0; i < count + WARM_UP_CONNECTS; i++) {
      const start = performance.now();
      const client = connectClient({ name, encryption: b !== "plain", timeout: 10_000 });
      await client.ready;
      if (i >= WARM_UP_CONNECTS) times.push(performance.now() - start);
      client.close();
      await client.closed;
    }
    report({ milliseconds: median(times) });
    break;
  }
  case "raw-server-count": {
    // The raw conn: the same bytes as `n` messages of `size`, read into one buffer.
    const [n, size] = [Number(a), Number(b)];
    await using listener = await listen({ transport: "unix", path: name });
    report("ready");
    const conn = await listener.accept();
    const buf = new Uint8Array(64 * 1024);
    let left = n * size - (await conn.read(buf))!;
    const start = performance.now();
    const total = left;
    while (left > 0) left -= (await conn.read(buf))!;
    report({ perSecond: total / size / ((performance.now() - start) / 1000) });
    conn.close();
    break;
  }
  case "raw-client-send": {
    const [n, size] = [Number(a), Number(b)];
    const conn = await connect({ transport: "unix", path: name });
    const data = new Uint8Array(size);
    for (let i = 0; i < n; i++) await conn.write(data);
    await conn.read(new Uint8Array(1)); // until the server closes
    conn.close();
    break;
  }
  case "raw-server-echo": {
    // The floor of a round trip: echo whatever arrives, over a bare Deno.UnixConn or tether's unix conn.
    const listener = a === "tether"
      ? await listen({ transport: "unix", path: name })
      : Deno.listen({ transport: "unix", path: name });
    report("ready");
    for (;;) {
      const conn = await listener.accept();
      (async () => {
        const buf = new Uint8Array(64 * 1024);
        for (;;) {
          const n = await conn.read(buf).catch(() => null);
          if (n === null) break;
          await conn.write(buf.subarray(0, n));
        }
        conn.close();
      })().catch(() => {});
    }
  }
  case "raw-client-rtt": {
    const [trips, size] = [Number(a), Number(b)];
    const conn = c === "tether"
      ? await connect({ transport: "unix", path: name })
      : await Deno.connect({ transport: "unix", path: name });
    const data = new Uint8Array(size), buf = new Uint8Array(64 * 1024);
    const trip = async () => {
      await conn.write(data);
      for (let got = 0; got < size;) got += (await conn.read(buf))!;
    };
    for (let i = 0; i < 200; i++) await trip(); // warm-up
    const times: number[] = [];
    for (let i = 0; i < trips; i++) {
      const start = performance.now();
      await trip();
      times.push(performance.now() - start);
    }
    report({ microseconds: median(times) * 1000 });
    conn.close();
    break;
  }
  case "raw-client-connect": {
    // The floor of a connect: Deno.connect, one byte there and back (so the server has accepted), close.
    const count = Number(a);
    const times: number[] = [];
    const one = new Uint8Array(1);
    for (let i = 0; i < count + WARM_UP_CONNECTS; i++) {
      const start = performance.now();
      const conn = await Deno.connect({ transport: "unix", path: name });
      await conn.write(one);
      await conn.read(one);
      if (i >= WARM_UP_CONNECTS) times.push(performance.now() - start);
      conn.close();
    }
    report({ milliseconds: median(times) });
    break;
  }
  default:
    throw new Error(`unknown mode ${mode}`);
}
