/**
 * The wire format of a conn over a `MessagePort`: what each end posts, and
 * the checks a message from the peer must pass. Private to `transports/`;
 * `_port_conn.ts` holds the behaviour.
 *
 * ## Messages (posted with `postMessage`, one structured-clone value each)
 *
 * | value | name | meaning |
 * | --- | --- | --- |
 * | `{ tether: "port/1", window, lock, revision? }` | HELLO | First message of each end: the end is attached; the peer may send `window` bytes; `lock` names the Web Lock its isolate holds while alive, or `null`; `revision` is 2 for an end that speaks revision 2 (below), left out by ends that speak the first |
 * | `Uint8Array` or `Uint8Array[]` | DATA | Bytes, in order, within the credit the peer granted; their buffers are transferred |
 * | positive integer `n` | CREDIT | The reader consumed `n` more bytes: the peer may send `n` more |
 * | `-1` | FIN | No more DATA from this end (half-close, or its writing ended) |
 * | `-2` | STOP | This end reads no more: the peer's writes fail, and it sends FIN |
 * | `-3` | CLOSE | STOP, and the bytes this end had queued follow at once, up to its `window` beyond credit, then FIN |
 * | `-4` | BYE | This end sent FIN and received the peer's: it will post nothing more once it has the peer's BYE |
 * | `-5` | LEND | The buffers of this end's DATA from here on are its pool's: give them back once copied out |
 * | `-6` | KEEP | The buffers of this end's DATA from here on are not worth giving back (the default) |
 * | `[n, ...ArrayBuffer[]]` | RETURN | CREDIT `n`, with buffers of lent DATA the reader copied out, transferred back |
 * | `{ tether: "abort", reason }` | ABORT | This end gave up on the conn (bad input from the peer): end at once |
 *
 * Revision 2 adds LEND, KEEP and RETURN, sent only to a peer whose HELLO says
 * revision 2, and lets an end that closes flush as much beyond credit as the
 * largest credit it had (its send queue grows with the peer's window), where
 * revision 1 flushes at most the `window` of its HELLO.
 *
 * Each end posts HELLO, then DATA, CREDIT (and LEND, KEEP, RETURN) while it lasts, exactly one FIN,
 * then BYE once it has received the peer's FIN. An end closes its port once
 * it has sent BYE and received the peer's: BYE is the acknowledgment that the
 * peer has everything, so neither end can mistake the other's orderly exit
 * for a crash.
 *
 * @module
 */

/** The protocol tag of HELLO. */
export const PORT_PROTOCOL = "port/1";

/** End of this end's data. */
export const FIN = -1;
/** This end stopped reading. */
export const STOP = -2;
/** This end closed: it stopped reading, and its last bytes follow. */
export const CLOSE = -3;
/** This end is done with the port. */
export const BYE = -4;
/** This end's DATA from here on is lent: give its buffers back. */
export const LEND = -5;
/** This end's DATA from here on is not lent. */
export const KEEP = -6;

/** The first message of each end. */
export interface Hello {
  /** {@linkcode PORT_PROTOCOL}. */
  readonly tether: typeof PORT_PROTOCOL;
  /** The credit granted at the start: the end's receive window. */
  readonly window: number;
  /** The Web Lock the end's isolate holds while it lives, or `null`. */
  readonly lock: string | null;
  /** The revision of the protocol the end speaks: 1 (left out) or 2. */
  readonly revision: number;
}

/** An end giving up on the conn. */
export interface Abort {
  /** Tags the message. */
  readonly tether: "abort";
  /** Why, for the peer's error message. */
  readonly reason: string;
}

/** The revision of {@linkcode PORT_PROTOCOL} this end speaks. */
export const PORT_REVISION = 2;

/** Makes HELLO. */
export function hello(window: number, lock: string | null): Hello {
  return { tether: PORT_PROTOCOL, window, lock, revision: PORT_REVISION };
}

/** Makes ABORT. */
export function abort(reason: string): Abort {
  return { tether: "abort", reason };
}

/** A message that is neither DATA nor a control number, read for what it is. */
export type Framed = { kind: "hello"; hello: Hello } | { kind: "abort"; reason: string };

/** Reads HELLO or ABORT; a string saying what is wrong with anything else. */
export function readObject(value: unknown): Framed | string {
  if (value === null || typeof value !== "object") {
    return `unexpected ${describeValue(value)}: the other end of the port is not a tether conn`;
  }
  const tag = (value as { tether?: unknown }).tether;
  if (tag === "abort") {
    const reason = (value as { reason?: unknown }).reason;
    return { kind: "abort", reason: typeof reason === "string" ? reason.slice(0, 200) : "no reason given" };
  }
  if (tag !== PORT_PROTOCOL) {
    return typeof tag === "string" && tag.startsWith("port/")
      ? `the peer speaks ${tag}, this end ${PORT_PROTOCOL}`
      : `unexpected ${describeValue(value)}: the other end of the port is not a tether conn`;
  }
  const { window, lock, revision } = value as { window?: unknown; lock?: unknown; revision?: unknown };
  if (typeof window !== "number" || !Number.isSafeInteger(window) || window < 1) {
    return `a hello with a bad window (${describeValue(window)})`;
  }
  if (lock !== null && typeof lock !== "string") return `a hello with a bad lock (${describeValue(lock)})`;
  if (
    revision !== undefined &&
    (typeof revision !== "number" || !Number.isSafeInteger(revision) || revision < 1)
  ) {
    return `a hello with a bad revision (${describeValue(revision)})`;
  }
  return { kind: "hello", hello: { tether: PORT_PROTOCOL, window, lock, revision: revision ?? 1 } };
}

/** RETURN read: the credit, and the buffers given back. */
export interface Return {
  /** The credit granted. */
  readonly credit: number;
  /** The buffers, transferred back. */
  readonly buffers: ArrayBuffer[];
}

/** Makes RETURN: `credit`, and `buffers` to transfer with it. */
export function giveBack(credit: number, buffers: ArrayBuffer[]): (number | ArrayBuffer)[] {
  return [credit, ...buffers];
}

/** Reads RETURN (an array whose first item is a number); a string saying what is wrong with it otherwise. */
export function readReturn(value: unknown[]): Return | string {
  const credit = value[0];
  if (typeof credit !== "number" || !isCredit(credit)) {
    return `a return with a bad credit (${describeValue(credit)})`;
  }
  const buffers: ArrayBuffer[] = [];
  for (let i = 1; i < value.length; i++) {
    const buffer = value[i];
    if (!(buffer instanceof ArrayBuffer)) return `a return holding ${describeValue(buffer)}`;
    buffers.push(buffer);
  }
  return { credit, buffers };
}

/** Whether `value` is a CREDIT grant. */
export function isCredit(value: number): boolean {
  return value >= 1 && Number.isSafeInteger(value);
}

/** Describes a value a peer sent, for a protocol error. */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === "object") return `an object (${Object.prototype.toString.call(value)})`;
  if (typeof value === "string") return `a string of ${value.length} characters`;
  return `${typeof value} ${String(value)}`;
}

/**
 * Whether `chunk` is all of a transferable buffer: only then may its buffer
 * be transferred, as a view into a larger one would take bytes that are not
 * the chunk's along.
 */
export function isWholeBuffer(chunk: Uint8Array): boolean {
  return chunk.byteOffset === 0 && chunk.buffer instanceof ArrayBuffer &&
    chunk.byteLength === chunk.buffer.byteLength;
}
