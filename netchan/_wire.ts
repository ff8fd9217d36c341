/**
 * The channel protocol's messages (netchan/PROTOCOL.md is the spec): their
 * types, their bodies, and the parsing of what a peer sends, which checks
 * every field and throws a `ProtocolError` naming what was wrong. Private
 * to netchan.
 *
 * @module
 */

import { ProtocolError } from "../errors.ts";

/** Message types: the `type` field of each typed frame. */
export const Type = {
  IMPORT: 1,
  ACCEPT: 2,
  REFUSE: 3,
  VALUE: 4,
  ACK: 5,
  END: 6,
  HANGUP: 7,
} as const;

/** A message type. */
export type MessageType = typeof Type[keyof typeof Type];

/** The protocol version an IMPORT carries. */
export const VERSION = 1;

/** The direction byte of an IMPORT, named from the importer's side. */
export const DirectionByte = { recv: 1, send: 2 } as const;

/** The longest channel name, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 1024;
/** The longest codec name, in UTF-8 bytes. */
export const MAX_CODEC_BYTES = 255;
/** The longest reason text of a REFUSE or HANGUP, in UTF-8 bytes. */
export const MAX_REASON_BYTES = 1024;
/** The largest window or credit: 2^31 - 1 values. */
export const MAX_WINDOW = 0x7fff_ffff;

/** Refusal codes of a REFUSE, and the reasons they stand for. */
export const RefuseCode = {
  "unknown channel": 1,
  "wrong direction": 2,
  "codec mismatch": 3,
  "unsupported version": 4,
  "bad request": 5,
} as const;

/** A refusal reason. */
export type Refusal = keyof typeof RefuseCode;

/** What an IMPORT asks for. */
export interface ImportRequest {
  readonly version: number;
  readonly direction: "recv" | "send";
  /** Values the importer buffers (recv) or wants in flight (send). */
  readonly window: number;
  /** Values after which a recv import ends; 0 for no limit. */
  readonly count: number;
  readonly codec: string;
  readonly name: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** The body of an IMPORT. */
export function importBody(request: Omit<ImportRequest, "version">): Uint8Array {
  const codec = encoder.encode(request.codec);
  const name = encoder.encode(request.name);
  const body = new Uint8Array(15 + codec.length + name.length);
  const view = new DataView(body.buffer);
  body[0] = VERSION;
  body[1] = DirectionByte[request.direction];
  view.setUint32(2, request.window);
  view.setUint32(6, Math.floor(request.count / 2 ** 32));
  view.setUint32(10, request.count >>> 0);
  body[14] = codec.length;
  body.set(codec, 15);
  body.set(name, 15 + codec.length);
  return body;
}

/**
 * Parses an IMPORT body. Throws `ProtocolError` for a malformed one; a
 * version other than {@linkcode VERSION} parses (the exporter refuses it
 * politely), as long as the fixed fields are there.
 */
export function parseImport(body: Uint8Array, addr: string): ImportRequest {
  const bad = (detail: string) => new ProtocolError({ op: "import", addr, detail: `bad IMPORT: ${detail}` });
  if (body.length < 15) throw bad(`${body.length} bytes, at least 15 expected`);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const version = body[0];
  const direction = body[1] === DirectionByte.recv ? "recv" : body[1] === DirectionByte.send ? "send" : null;
  if (direction === null) throw bad(`direction ${body[1]}, expected 1 (recv) or 2 (send)`);
  const window = view.getUint32(2);
  if (window < 1 || window > MAX_WINDOW) throw bad(`window ${window}, expected 1 to ${MAX_WINDOW}`);
  const high = view.getUint32(6);
  if (high >= 2 ** 21) throw bad("count beyond 2^53 - 1");
  const count = high * 2 ** 32 + view.getUint32(10);
  if (count !== 0 && direction === "send") throw bad("a count on a send import");
  const codecLength = body[14];
  if (15 + codecLength > body.length) throw bad("codec name cut short");
  const nameLength = body.length - 15 - codecLength;
  if (nameLength < 1 || nameLength > MAX_NAME_BYTES) {
    throw bad(`channel name of ${nameLength} bytes, expected 1 to ${MAX_NAME_BYTES}`);
  }
  const codec = text(body.subarray(15, 15 + codecLength), bad);
  const name = text(body.subarray(15 + codecLength), bad);
  return { version, direction, window, count, codec, name };
}

/** The body of a REFUSE. */
export function refuseBody(refusal: Refusal, reason: string): Uint8Array {
  const reasonBytes = encoder.encode(reason).subarray(0, MAX_REASON_BYTES);
  const body = new Uint8Array(1 + reasonBytes.length);
  body[0] = RefuseCode[refusal];
  body.set(reasonBytes, 1);
  return body;
}

/** Parses a REFUSE body into its refusal and its reason text. */
export function parseRefuse(body: Uint8Array, addr: string): { refusal: Refusal; reason: string } {
  const bad = (detail: string) => new ProtocolError({ op: "import", addr, detail: `bad REFUSE: ${detail}` });
  if (body.length < 1) throw bad("empty");
  const refusal = (Object.keys(RefuseCode) as Refusal[]).find((r) => RefuseCode[r] === body[0]);
  if (refusal === undefined) throw bad(`unknown refusal code ${body[0]}`);
  return { refusal, reason: reasonText(body.subarray(1), bad) };
}

/** The body of an ACK. */
export function ackBody(taken: number, credit: number): Uint8Array {
  const body = new Uint8Array(8);
  const view = new DataView(body.buffer);
  view.setUint32(0, taken);
  view.setUint32(4, credit);
  return body;
}

/** Parses an ACK body; the caller checks the counts against its state. */
export function parseAck(body: Uint8Array, addr: string): { taken: number; credit: number } {
  if (body.length !== 8) {
    throw new ProtocolError({ op: "receive", addr, detail: `bad ACK: ${body.length} bytes, 8 expected` });
  }
  const view = new DataView(body.buffer, body.byteOffset, 8);
  return { taken: view.getUint32(0), credit: view.getUint32(4) };
}

/** The body of a HANGUP. */
export function hangupBody(reason: string): Uint8Array {
  return encoder.encode(reason).subarray(0, MAX_REASON_BYTES);
}

/** Parses a HANGUP body: its reason text. */
export function parseHangup(body: Uint8Array, addr: string): string {
  return reasonText(
    body,
    (detail) => new ProtocolError({ op: "receive", addr, detail: `bad HANGUP: ${detail}` }),
  );
}

/** Checks that a message which has no body has none. */
export function checkEmpty(type: string, body: Uint8Array, addr: string): void {
  if (body.length !== 0) {
    throw new ProtocolError({
      op: "receive",
      addr,
      detail: `bad ${type}: ${body.length} bytes, none expected`,
    });
  }
}

function reasonText(bytes: Uint8Array, bad: (detail: string) => ProtocolError): string {
  if (bytes.length > MAX_REASON_BYTES) {
    throw bad(`reason of ${bytes.length} bytes, at most ${MAX_REASON_BYTES}`);
  }
  return text(bytes, bad);
}

function text(bytes: Uint8Array, bad: (detail: string) => ProtocolError): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw bad("text that is not UTF-8");
  }
}

/** The name of a message type, for errors. */
export function typeName(type: number): string {
  const entry = Object.entries(Type).find(([, t]) => t === type);
  return entry ? entry[0] : `type ${type}`;
}
