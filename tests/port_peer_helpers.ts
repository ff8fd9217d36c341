/**
 * A raw `MessagePort` that plays a worker conn's peer by hand, for the tests
 * of the wire (`transports/_port_wire.ts` lists the messages).
 */
import { portConn } from "../mod.ts";
import { within } from "./worker_helpers.ts";

export const FIN = -1, CLOSE = -3, BYE = -4, LEND = -5, KEEP = -6;
/** A peer's HELLO: revision 1 (left out) unless `revision` says otherwise. */
export const hello = (window: number, revision?: number) =>
  revision === undefined
    ? { tether: "port/1", window, lock: null }
    : { tether: "port/1", window, lock: null, revision };

/** A conn, and the raw port at its other end with everything the conn posted. */
export function rawPeer(bufferSize?: number) {
  const { port1, port2 } = new MessageChannel();
  const conn = portConn(port1, { bufferSize });
  const got: unknown[] = [];
  let notify = () => {};
  port2.onmessage = (event) => {
    got.push(event.data);
    notify();
  };
  const raw = {
    conn,
    got,
    post: (message: unknown, transfer: Transferable[] = []) => port2.postMessage(message, transfer),
    /** Resolves once `test` holds for what was posted so far. */
    async until(test: (got: unknown[]) => boolean, what: string): Promise<void> {
      while (!test(got)) {
        await within(new Promise<void>((resolve) => notify = resolve), 10_000, what);
      }
    },
    /** The data bytes posted so far. */
    dataBytes: () =>
      got.flatMap((m) =>
        m instanceof Uint8Array ? [m] : Array.isArray(m) && typeof m[0] !== "number" ? m : []
      ),
    /** Whether the conn gave up on this peer. */
    aborted: () => got.some((m) => (m as { tether?: string })?.tether === "abort"),
    /**
     * Closes the conn and plays the rest of the goodbye by hand (FIN, then
     * BYE once the conn's came), unless the conn gave up on this peer.
     */
    async finish(): Promise<void> {
      conn.close();
      if (!raw.aborted() && got.length > 0) {
        if (!sentFin) port2.postMessage(FIN);
        await raw.until((got) => got.includes(BYE) || raw.aborted(), "the conn's BYE");
        port2.postMessage(BYE);
      }
      await within(conn.closed, 10_000, "closed");
      port2.close();
    },
  };
  let sentFin = false;
  const post = raw.post;
  raw.post = (message, transfer) => {
    if (message === FIN) sentFin = true;
    post(message, transfer);
  };
  return raw;
}

/** How many bytes `chunks` hold. */
export function total(chunks: Uint8Array[]): number {
  return chunks.reduce((sum, c) => sum + c.byteLength, 0);
}

/** Lets message events and microtasks run for a while. */
export const settle = (ms = 50) => new Promise((resolve) => setTimeout(resolve, ms));
