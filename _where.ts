/**
 * The address an error on a conn names. Private to the package.
 *
 * @module
 */

import { type Addr, formatAddr } from "./conn.ts";

const UNKNOWN: Addr = { transport: "unknown", address: "" };

/**
 * The peer's address, or, when the peer has none (the accepting end of a
 * Unix socket, whose client is unnamed), the conn's own: the socket path the
 * client reached, which is what the socket layer's own errors name.
 */
export function connWhere(conn: { readonly localAddr?: Addr; readonly remoteAddr?: Addr }): string {
  const remote = conn.remoteAddr ?? UNKNOWN;
  const local = conn.localAddr;
  if (remote.address === "" && local !== undefined && local.address !== "") return formatAddr(local);
  return formatAddr(remote);
}
