// Interop with a yamux nobody here wrote: hashicorp/yamux (Go, from Debian)
// in a second process, over a Unix socket, with tether as client and as
// server. The Go program's commands are listed in fixtures/yamux_peer/main.go.
import assert from "node:assert/strict";
import { ConnClosedError, connect, ConnectionRefusedError, listen } from "../mod.ts";
import { mux, type MuxStream, type Session } from "../mux/mod.ts";
import {
  echo,
  goPattern,
  goPeer,
  randomBytes,
  readAll,
  readText,
  sha256,
  text,
  within,
} from "./mux_helpers.ts";

interface GoPeer {
  session: Session;
  child: Deno.ChildProcess;
  /** What the Go program printed, once it exited. */
  output(): Promise<string>;
  /** Ends the session and the Go program, and removes the socket's dir. */
  stop(): Promise<void>;
}

/**
 * Starts the Go peer: with `tether: "client"` Go listens and tether dials;
 * with `tether: "server"` tether listens and Go dials. The tether side
 * echoes every stream Go opens.
 */
async function startGo(tether: "client" | "server", backlog?: number): Promise<GoPeer> {
  const binary = await goPeer();
  const dir = await Deno.makeTempDir();
  const path = `${dir}/yamux.sock`;
  const listener = tether === "server" ? await listen({ transport: "unix", path }) : null;
  const args = [tether === "client" ? "server" : "client", path, ...(backlog ? [String(backlog)] : [])];
  const child = new Deno.Command(binary, { args, stdout: "piped", stderr: "inherit" }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream());
  const reader = lines.getReader();
  let printed = "";
  while (!printed.includes("ready")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the Go peer exited before it was ready: ${printed}`);
    printed += value;
  }
  const rest = (async () => {
    for (let r; !(r = await reader.read()).done;) printed += r.value;
    return printed;
  })();
  const conn = listener
    ? await listener.accept({ signal: AbortSignal.timeout(10_000) })
    : await connect({ transport: "unix", path, signal: AbortSignal.timeout(10_000) });
  listener?.close();
  const session = mux(conn, { role: tether, window: 1024 * 1024 });
  const serving = (async () => {
    for await (const stream of session) echo(stream);
  })().catch(() => {});
  return {
    session,
    child,
    output: () => rest,
    async stop() {
      session.close();
      await session.closed;
      await serving;
      try {
        child.kill("SIGKILL");
      } catch {
        // It exited already.
      }
      await child.status;
      await rest;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Opens a stream on which the Go peer runs `command` (its first byte) with `args` after it. */
async function command(
  session: Session,
  name: string,
  args: Uint8Array = new Uint8Array(0),
): Promise<MuxStream> {
  const stream = await session.open();
  const head = new Uint8Array(1 + args.length);
  head[0] = name.charCodeAt(0);
  head.set(args, 1);
  await stream.write(head);
  return stream;
}

function u64(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

function u32s(...ns: number[]): Uint8Array {
  const out = new Uint8Array(4 * ns.length);
  ns.forEach((n, i) => new DataView(out.buffer).setUint32(4 * i, n));
  return out;
}

/** Echoes `payload` through the Go peer on a fresh stream, half-closing after it. */
async function echoThroughGo(session: Session, payload: Uint8Array): Promise<void> {
  const stream = await command(session, "e");
  const writing = stream.write(payload).then(() => stream.closeWrite());
  const back = await readAll(stream);
  await writing;
  assert.equal(back.length, payload.length);
  assert.ok(back.every((x, i) => x === payload[i]), "the echo differs");
  stream.close();
}

for (const tether of ["client", "server"] as const) {
  const go = tether === "client" ? "server" : "client";

  Deno.test(`tether ${tether}, Go ${go}: 100 concurrent streams echo through Go's yamux`, async () => {
    const peer = await startGo(tether);
    try {
      await within(
        Promise.all(
          Array.from({ length: 100 }, (_, i) => echoThroughGo(peer.session, randomBytes(1 + i * 997))),
        ),
        60_000,
        "100 echoes",
      );
    } finally {
      await peer.stop();
    }
  });

  Deno.test(`tether ${tether}, Go ${go}: 32 MiB each way, SHA-256 compared, with half-close`, async () => {
    const peer = await startGo(tether);
    try {
      const size = 32 * 1024 * 1024;
      // To Go: Go hashes until our FIN, then answers on the same stream.
      const payload = randomBytes(size);
      const hashing = await command(peer.session, "h");
      const writing = (async () => {
        for (let at = 0; at < size; at += 1 << 20) await hashing.write(payload.subarray(at, at + (1 << 20)));
        await hashing.closeWrite();
      })();
      const [answer] = await Promise.all([within(readText(hashing), 60_000, "Go's hash"), writing]);
      assert.equal(answer, await sha256(payload));
      // From Go: Go sends, then its FIN is our EOF.
      const sending = await command(peer.session, "s", u64(size));
      const received = await within(readAll(sending), 60_000, "Go's bytes");
      assert.equal(received.length, size);
      assert.equal(await sha256(received), await sha256(goPattern(size)));
      sending.close();
      hashing.close();
    } finally {
      await peer.stop();
    }
  });

  Deno.test(`tether ${tether}, Go ${go}: Go opens 50 streams to tether and gets its bytes echoed`, async () => {
    const peer = await startGo(tether);
    try {
      const asking = await command(peer.session, "o", u32s(50, 200_000));
      assert.equal(await within(readText(asking), 60_000, "Go's streams"), "ok 50");
    } finally {
      await peer.stop();
    }
  });

  Deno.test(`tether ${tether}, Go ${go}: pings cross both ways`, async () => {
    const peer = await startGo(tether);
    try {
      const rtt = await peer.session.ping({ signal: AbortSignal.timeout(10_000) });
      assert.ok(rtt >= 0 && rtt < 10_000, `rtt ${rtt}`);
      assert.equal(await readText(await command(peer.session, "p")), "ok");
    } finally {
      await peer.stop();
    }
  });
}

Deno.test("Go refuses streams past its accept backlog with RST: tether sees ConnectionRefusedError", async () => {
  const peer = await startGo("client", 4);
  try {
    // Go stops accepting for 3 s: its backlog of 4 fills, and it resets the rest.
    const pausing = await command(peer.session, "w", u32s(3000));
    assert.equal(await readText(pausing), "ok");
    pausing.close();
    const outcomes = await within(
      Promise.all(Array.from({ length: 20 }, async () => {
        const stream = await command(peer.session, "e", text("hello"));
        try {
          await stream.closeWrite();
          assert.equal(new TextDecoder().decode(await readAll(stream)), "hello");
          return "echoed";
        } catch (err) {
          assert.ok(err instanceof ConnectionRefusedError, `expected ConnectionRefusedError, got ${err}`);
          return "refused";
        }
      })),
      30_000,
      "20 streams",
    );
    const refused = outcomes.filter((o) => o === "refused").length;
    assert.ok(refused >= 10 && refused <= 16, `${refused} of 20 refused`);
    assert.equal(peer.session.streams, 0);
  } finally {
    await peer.stop();
  }
});

Deno.test("Go's GoAway: tether opens no more streams, and the open ones finish", async () => {
  const peer = await startGo("client");
  try {
    const before = await command(peer.session, "e");
    assert.equal(await readText(await command(peer.session, "g")), "ok");
    await assert.rejects(peer.session.open(), ConnectionRefusedError);
    await before.write(text("still works"));
    await before.closeWrite();
    assert.equal(new TextDecoder().decode(await readAll(before)), "still works");
  } finally {
    await peer.stop();
  }
});

Deno.test("Go closing its session ends tether's streams with ConnClosedError and the accept loop quietly", async () => {
  const peer = await startGo("client");
  try {
    const open = await command(peer.session, "e");
    const reading = open.read(new Uint8Array(1)).then(() => null, (e) => e);
    await command(peer.session, "x");
    await within(peer.session.closed, 10_000, "session end");
    assert.ok((await reading) instanceof ConnClosedError);
    assert.equal(peer.session.error, null);
    await assert.rejects(open.write(text("x")), ConnClosedError);
  } finally {
    await peer.stop();
  }
});

Deno.test("the Go process killed: every stream ends at once with ConnClosedError", async () => {
  const peer = await startGo("client");
  try {
    const streams = await Promise.all(Array.from({ length: 10 }, () => command(peer.session, "e")));
    await echoThroughGo(peer.session, text("alive"));
    const reads = streams.map((s) => s.read(new Uint8Array(1)).then(() => null, (e) => e));
    peer.child.kill("SIGKILL");
    const errors = await within(Promise.all(reads), 5000, "reads after the kill");
    for (const err of errors) assert.ok(err instanceof ConnClosedError, `got ${err}`);
    await within(peer.session.closed, 5000, "session end");
  } finally {
    await peer.stop();
  }
});
