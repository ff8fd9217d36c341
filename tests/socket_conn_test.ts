/**
 * A socket conn where the peer stops reading, or this side does: half-close
 * after an abandoned write, and cancelling `readable`.
 */
import assert from "node:assert/strict";
import { ConnClosedError } from "../mod.ts";
import { inTempDir, unixPair, within } from "./socket_helpers.ts";

/** Reads `conn` to EOF, counting the bytes. */
async function drain(conn: { read(p: Uint8Array): Promise<number | null> }): Promise<number> {
  const buf = new Uint8Array(64 * 1024);
  let total = 0;
  for (let n; (n = await conn.read(buf)) !== null;) total += n;
  return total;
}

Deno.test("closeWrite settles after a write abandoned against a peer that does not read; the EOF follows once it reads", async () => {
  await inTempDir(async (dir) => {
    const { listener, client, server } = await unixPair(`${dir}/half.sock`);
    const size = 8 * 1024 * 1024; // far more than the kernel buffers
    const err = await client.write(new Uint8Array(size), { signal: AbortSignal.timeout(100) }).catch((e) =>
      e
    );
    assert.equal(err.name, "TimeoutError");
    await within(client.closeWrite(), 10_000, "closeWrite");
    await assert.rejects(client.write(new Uint8Array(1)), ConnClosedError);
    // The native write under way finishes once the peer reads, then the EOF.
    const got = await within(drain(server), 10_000, "the peer's reads");
    assert.ok(got <= size, `the peer got a prefix of the abandoned write (${got} bytes)`);
    client.close();
    server.close();
    listener.close();
  });
});

Deno.test("cancelling a socket conn's readable drains and drops what the peer sends: its writes complete; reads reject; writing goes on", async () => {
  await inTempDir(async (dir) => {
    const { listener, client, server } = await unixPair(`${dir}/cancel.sock`);
    await server.readable.cancel();
    await within(client.write(new Uint8Array(8 * 1024 * 1024)), 10_000, "the peer's write");
    await assert.rejects(server.read(new Uint8Array(1)), ConnClosedError);
    await server.write(new Uint8Array([1, 2, 3]));
    await server.closeWrite();
    assert.equal(await drain(client), 3);
    await client.closeWrite();
    await within(server.closed, 10_000, "closed, once both directions are done");
    client.close();
    listener.close();
  });
});
