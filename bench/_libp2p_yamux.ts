/**
 * js-libp2p's yamux (`@chainsafe/libp2p-yamux`) over a tether `Conn`: the
 * peer anchor of the mux benches, so both muxers run on the same pipe. The
 * adapter is the small MultiaddrConnection a libp2p transport would be.
 * Bench-only: nothing in the library depends on these packages.
 */

import { yamux } from "@chainsafe/libp2p-yamux";
import { defaultLogger } from "@libp2p/logger";
import { AbstractMultiaddrConnection } from "@libp2p/utils";
import { multiaddr } from "@multiformats/multiaddr";
import type { Conn } from "../mod.ts";

type Muxer = ReturnType<ReturnType<ReturnType<typeof yamux>>["createStreamMuxer"]>;
type SendData = Parameters<AbstractMultiaddrConnection["sendData"]>[0];

let next = 0;

/** A libp2p MultiaddrConnection whose bytes travel over a tether conn. */
class ConnMultiaddrConnection extends AbstractMultiaddrConnection {
  readonly #conn: Conn;

  constructor(conn: Conn, direction: "inbound" | "outbound") {
    super({
      remoteAddr: multiaddr(`/ip4/127.0.0.1/tcp/${++next}`),
      direction,
      log: defaultLogger().forComponent("tether-bench"),
    });
    this.#conn = conn;
    (async () => {
      const buf = new Uint8Array(64 * 1024);
      try {
        for (let n; (n = await conn.read(buf)) !== null;) this.onData(buf.slice(0, n));
      } catch {
        // Closed under us.
      }
      this.onTransportClosed();
    })();
  }

  sendData(data: SendData): { sentBytes: number; canSendMore: boolean } {
    const bytes = data.subarray();
    this.#conn.write(bytes).catch(() => {});
    return { sentBytes: bytes.byteLength, canSendMore: true };
  }

  sendReset(): void {
    this.#conn.close();
  }

  async sendClose(): Promise<void> {
    await this.#conn.closeWrite().catch(() => {});
    this.#conn.close();
  }

  sendPause(): void {}

  sendResume(): void {}
}

/** A libp2p yamux muxer over `conn`. */
export function libp2pYamux(conn: Conn, role: "client" | "server"): Muxer {
  const maConn = new ConnMultiaddrConnection(conn, role === "client" ? "outbound" : "inbound");
  return yamux({ enableKeepAlive: false })().createStreamMuxer(maConn);
}
