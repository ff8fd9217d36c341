/**
 * Errors across the Node boundary: a tether error keeps its class going into
 * a Node stream (its `code` is already Node's: `EPIPE`, `ECONNREFUSED`...),
 * and a Node error coming out becomes the tether class its code names.
 * Private to `node/`.
 *
 * @module
 */

import {
  AddrInUseError,
  ConnClosedError,
  ConnectionRefusedError,
  ConnError,
  type ErrorContext,
  ProtocolError,
} from "../errors.ts";

/** Node codes that mean "the other end or the stream is gone". */
const CLOSED_CODES = new Set([
  "EPIPE",
  "ECONNRESET",
  "ECONNABORTED",
  "ENOTCONN",
  "ERR_STREAM_DESTROYED",
  "ERR_STREAM_PREMATURE_CLOSE",
  "ERR_STREAM_WRITE_AFTER_END",
]);

/** Node codes for running short of a resource: retrying later can help. */
const TEMPORARY_CODES = new Set(["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM", "EAGAIN", "EINTR"]);

/**
 * What a Node stream's error `err`, met while doing `op` on `addr`, is in
 * tether's terms (`addr` where known): a `ConnError` stays as it is; a Node error with a code
 * becomes the class that code names, with the original as its `cause`.
 */
export function fromNodeError(err: unknown, op: string, addr?: string): Error {
  if (err instanceof ConnError) return err;
  if (!(err instanceof Error)) return new ConnError({ code: "EIO", op, addr, detail: String(err) });
  const code = (err as { code?: unknown }).code;
  const context: ErrorContext = { op, addr, detail: err.message, cause: err };
  if (typeof code !== "string") return new ConnError({ ...context, code: "EIO", summary: "stream failed" });
  if (CLOSED_CODES.has(code)) return new ConnClosedError(context);
  if (code === "ECONNREFUSED") return new ConnectionRefusedError(context);
  if (code === "EADDRINUSE") return new AddrInUseError(context);
  // llhttp's parse errors (HPE_INVALID_CONSTANT...): the peer sent something that is not HTTP.
  if (code.startsWith("HPE_")) return new ProtocolError(context);
  const timeout = code === "ETIMEDOUT";
  return new ConnError({
    ...context,
    code,
    summary: timeout ? "timed out" : "failed",
    timeout,
    temporary: TEMPORARY_CODES.has(code),
  });
}
