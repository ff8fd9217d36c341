/**
 * tether's own ipc protocol, version 1.
 *
 * ## Wire format
 *
 * 1. The client sends its 16-byte hello: `"tipc"`, `version:u8`,
 *    `security:u8` (the Noise pattern it wants, below), 10 zero bytes.
 * 2. The server answers with its 16-byte hello: `"tipc"`, `version:u8`,
 *    `mode:u8` (what it wants), `verdict:u8` (0 ok, 1 version mismatch,
 *    2 security mismatch, 3 busy: it serves one client at a time), a zero
 *    byte, `maxMessageSize:u32`, 4 zero bytes. On any verdict but 0 both
 *    sides close, and each can name both sides' versions and wishes.
 * 3. Unless both want no encryption, a Noise handshake (`secure()`) runs,
 *    its prologue the two hellos, so tampering with them (a downgrade)
 *    fails it; then the server sends one byte, 1, over the secure conn: the
 *    client is in (a refused key fails before it).
 * 4. Then typed frames (`typedFrames()`) both ways, at most the server's
 *    `maxMessageSize` of data each. Type 0 is the protocol's own:
 *    `0x01 count:u32` confirms that the application has read `count`
 *    messages (mod 2^32) of the peer's: every 128 messages (counting those
 *    it read before the one it is reading), and 20 ms after a read.
 *
 * All integers are unsigned big-endian. The hellos go in the clear: they say
 * nothing secret, and the prologue authenticates them.
 *
 * @module
 */

import type { Conn } from "../conn.ts";
import { ConnError, HandshakeError, MessageTooLargeError, ProtocolError } from "../errors.ts";
import { type FramedConn, typedFrames, type TypedMessage } from "../frame.ts";
import { noop } from "../_async/waiter.ts";
import { secure, type SecureOptions } from "../crypto/secure.ts";
import type { PatternName } from "../crypto/patterns.ts";
import { cutOff, type HandshakeContext, hex, readFull, type Session } from "./_session.ts";
import type { IpcKeys, IpcMessage } from "./types.ts";

/** The protocol version this side speaks. */
export const TETHER_IPC_VERSION = 1;

const MAGIC = [0x74, 0x69, 0x70, 0x63]; // "tipc"
const HELLO_LENGTH = 16;
/** The framed layer's limit never goes below this, so control frames always fit. */
const CONTROL_ROOM = 16;
const ACK = 0x01;
const ACK_DELAY_MS = 20;
const ACK_EVERY = 128;
const PROLOGUE = new TextEncoder().encode("tether-ipc/1");

/** What a side wants of encryption. */
export interface Security {
  /** Whether to encrypt at all. */
  encryption: boolean;
  /** A pre-shared key (NNpsk0). */
  psk?: Uint8Array;
  /** Static keys (NK, NX, IK, XX). */
  keys?: IpcKeys;
}

/** The client's wish: the pattern it wants, as the hello carries it. */
const PATTERNS: readonly (PatternName | null)[] = [null, "NN", "NNpsk0", "NK", "NX", "IK", "XX"];

const PATTERN_WORDS = [
  "no encryption",
  "encryption without authentication (Noise NN)",
  "encryption with a PSK (Noise NNpsk0)",
  "encryption pinning the server's key (Noise NK)",
  "encryption verifying the server's key (Noise NX)",
  "encryption with its own key pair, pinning the server's key (Noise IK)",
  "encryption with its own key pair, verifying the server's key (Noise XX)",
];

/** The server's wish. */
const enum Mode {
  None = 0,
  Anonymous = 1,
  Psk = 2,
  Keys = 3,
  KeysBothWays = 4,
}

const MODE_WORDS = [
  "no encryption",
  "encryption without authentication (Noise NN)",
  "encryption with a PSK (Noise NNpsk0)",
  "encryption with its static key",
  "encryption with static keys on both sides (each client must bring a key pair it accepts)",
];

const enum Verdict {
  Ok = 0,
  Version = 1,
  Security = 2,
  Busy = 3,
}

/** The pattern code a client with `security` asks for. */
export function clientPattern(security: Security): number {
  if (!security.encryption) return 0;
  if (security.psk !== undefined) return 2;
  const keys = security.keys;
  if (keys === undefined) return 1;
  const own = keys.keyPair !== undefined;
  if (keys.serverKey !== undefined) return own ? 5 : 3;
  return own ? 6 : 4;
}

/** The mode a server with `security` announces. */
export function serverMode(security: Security): Mode {
  if (!security.encryption) return Mode.None;
  if (security.psk !== undefined) return Mode.Psk;
  if (security.keys === undefined) return Mode.Anonymous;
  return security.keys.verifyRemote === undefined ? Mode.Keys : Mode.KeysBothWays;
}

function compatible(mode: number, pattern: number): boolean {
  switch (mode) {
    case Mode.None:
      return pattern === 0;
    case Mode.Anonymous:
      return pattern === 1;
    case Mode.Psk:
      return pattern === 2;
    case Mode.Keys:
      return pattern >= 3 && pattern <= 6;
    case Mode.KeysBothWays:
      return pattern === 5 || pattern === 6;
  }
  return false;
}

function patternWords(code: number): string {
  return PATTERN_WORDS[code] ?? `an unknown security setting (${code})`;
}

function modeWords(code: number): string {
  return MODE_WORDS[code] ?? `an unknown security setting (${code})`;
}

/** "this client speaks version 1 and wants …; the server speaks version 1 and wants …". */
function sides(
  client: { version: number; pattern: number },
  server: { version: number; mode: number },
): string {
  return `the client speaks tether ipc version ${client.version} and wants ${
    patternWords(client.pattern)
  }; ` +
    `the server speaks version ${server.version} and wants ${modeWords(server.mode)}`;
}

const FIX_SECURITY = "give both sides the same encryption, psk and keys settings";

function hello(version: number, second: number, third: number, maxMessageSize = 0): Uint8Array {
  const bytes = new Uint8Array(HELLO_LENGTH);
  bytes.set(MAGIC);
  bytes[4] = version;
  bytes[5] = second;
  bytes[6] = third;
  new DataView(bytes.buffer).setUint32(8, maxMessageSize);
  return bytes;
}

function isHello(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && MAGIC.every((b, i) => bytes[i] === b);
}

function prologue(clientHello: Uint8Array, serverHello: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(PROLOGUE.length + 2 * HELLO_LENGTH);
  bytes.set(PROLOGUE);
  bytes.set(clientHello, PROLOGUE.length);
  bytes.set(serverHello, PROLOGUE.length + HELLO_LENGTH);
  return bytes;
}

/** What a server needs to take a client in. */
export interface AcceptSettings {
  /** The server's encryption wishes. */
  security: Security;
  /** The server's largest message. */
  maxMessageSize: number;
  /** Takes a client slot; `false` if the server is busy (one client at a time). */
  admit(): boolean;
}

/**
 * The server's side of the handshake. Throws a `HandshakeError` for a
 * client that speaks something else or wants other settings (after telling
 * it why), a `ConnError` `EBUSY` for one refused as the server is busy, or
 * the error of a conn that ended or timed out.
 */
export async function acceptTether(
  conn: Conn,
  context: HandshakeContext,
  settings: AcceptSettings,
): Promise<Session> {
  const { addr, signal } = context;
  const got = await readFull(conn, HELLO_LENGTH, signal);
  if (!isHello(got.bytes)) {
    if (
      !got.complete && got.bytes.length < 4 &&
      MAGIC.slice(0, got.bytes.length).every((b, i) => got.bytes[i] === b)
    ) {
      throw cutOff(addr, "the client's hello", got.bytes);
    }
    throw new HandshakeError({
      addr,
      detail: `not a tether ipc client: it sent ${hex(got.bytes)} instead of a hello`,
    });
  }
  if (!got.complete) throw cutOff(addr, "the client's hello", got.bytes);
  const clientHello = got.bytes;
  const client = { version: clientHello[4], pattern: clientHello[5] };
  const mode = serverMode(settings.security);
  const server = { version: TETHER_IPC_VERSION, mode };
  const verdict = client.version !== TETHER_IPC_VERSION
    ? Verdict.Version
    : !compatible(mode, client.pattern)
    ? Verdict.Security
    : settings.admit()
    ? Verdict.Ok
    : Verdict.Busy;
  const serverHello = hello(TETHER_IPC_VERSION, mode, verdict, settings.maxMessageSize);
  await conn.write(serverHello, { signal });
  if (verdict === Verdict.Busy) {
    throw new ConnError({
      code: "EBUSY",
      op: "accept",
      addr,
      summary: "client refused: the server serves one client at a time (multiClient: false) and has one",
    });
  }
  if (verdict !== Verdict.Ok) {
    throw new HandshakeError({
      addr,
      detail: `${sides(client, server)}: ${verdict === Verdict.Version ? "upgrade one side" : FIX_SECURITY}`,
    });
  }
  const pattern = PATTERNS[client.pattern];
  let secured: Conn = conn;
  let remoteStaticKey: Uint8Array | null = null;
  if (pattern !== null) {
    const keys = settings.security.keys;
    const options: SecureOptions = {
      role: "responder",
      pattern,
      prologue: prologue(clientHello, serverHello),
      signal,
    };
    if (pattern === "NNpsk0") options.psk = settings.security.psk;
    if (keys !== undefined && pattern !== "NN" && pattern !== "NNpsk0") {
      options.staticKeyPair = keys.keyPair;
      if ((pattern === "IK" || pattern === "XX") && keys.verifyRemote) {
        options.verifyRemote = keys.verifyRemote;
      }
    }
    const s = await secure(conn, options);
    secured = s;
    remoteStaticKey = s.remoteStaticKey;
    await s.write(Uint8Array.of(1), { signal });
  }
  return new TetherSession(secured, addr, settings.maxMessageSize, remoteStaticKey);
}

/**
 * The client's side of the handshake. Throws a `HandshakeError` for a
 * server that speaks something else or wants other settings, a `ConnError`
 * `EBUSY` (temporary) for a busy server, or a conn error.
 */
export async function dialTether(
  conn: Conn,
  context: HandshakeContext,
  security: Security,
): Promise<Session> {
  const { addr, signal } = context;
  const code = clientPattern(security);
  const clientHello = hello(TETHER_IPC_VERSION, code, 0);
  await conn.write(clientHello, { signal });
  const got = await readFull(conn, HELLO_LENGTH, signal);
  if (!isHello(got.bytes)) {
    if (got.bytes.length === 0 && !got.complete) throw cutOff(addr, "the server's hello");
    const golang = got.bytes[0] === 2 && got.bytes.length <= 2;
    throw new HandshakeError({
      addr,
      detail: `not a tether ipc server: it sent ${hex(got.bytes)} instead of a hello` +
        (golang ? ' (a golang-ipc server? connect with protocol: "golang-ipc")' : ""),
    });
  }
  if (!got.complete) throw cutOff(addr, "the server's hello", got.bytes);
  const serverHello = got.bytes;
  const view = new DataView(serverHello.buffer, serverHello.byteOffset);
  const server = { version: serverHello[4], mode: serverHello[5] };
  const verdict = serverHello[6];
  const client = { version: TETHER_IPC_VERSION, pattern: code };
  if (verdict === Verdict.Busy) {
    throw new ConnError({
      code: "EBUSY",
      op: "connect",
      addr,
      summary: "refused: the server serves one client at a time (multiClient: false) and has one",
      temporary: true,
    });
  }
  if (verdict === Verdict.Version || server.version !== TETHER_IPC_VERSION) {
    throw new HandshakeError({ addr, detail: `${sides(client, server)}: upgrade one side` });
  }
  if (verdict === Verdict.Security) {
    throw new HandshakeError({ addr, detail: `${sides(client, server)}: ${FIX_SECURITY}` });
  }
  if (verdict !== Verdict.Ok) {
    throw new HandshakeError({ addr, detail: `the server answered with an unknown verdict ${verdict}` });
  }
  const maxMessageSize = view.getUint32(8);
  const pattern = PATTERNS[code];
  let secured: Conn = conn;
  let remoteStaticKey: Uint8Array | null = null;
  if (pattern !== null) {
    const keys = security.keys;
    const options: SecureOptions = {
      role: "initiator",
      pattern,
      prologue: prologue(clientHello, serverHello),
      signal,
    };
    if (pattern === "NNpsk0") options.psk = security.psk;
    if (keys?.keyPair !== undefined && (pattern === "IK" || pattern === "XX")) {
      options.staticKeyPair = keys.keyPair;
    }
    if (pattern === "IK" || pattern === "NK") options.remoteStaticKey = keys!.serverKey;
    if ((pattern === "XX" || pattern === "NX") && keys?.verifyRemote) {
      options.verifyRemote = keys.verifyRemote;
    }
    const s = await secure(conn, options);
    secured = s;
    remoteStaticKey = s.remoteStaticKey;
    let welcome: number | null;
    try {
      const one = new Uint8Array(1);
      welcome = await s.read(one, { signal }) === 1 ? one[0] : null;
    } catch (err) {
      s.close();
      if (signal.aborted) throw err;
      throw new HandshakeError({
        addr,
        detail: "the server ended the handshake: its verifyRemote refused this client's key, or it closed",
        cause: err,
      });
    }
    if (welcome !== 1) {
      s.close();
      if (welcome === null) throw cutOff(addr, "the server's welcome");
      throw new HandshakeError({ addr, detail: `the server's welcome is ${welcome}, not 1` });
    }
  }
  return new TetherSession(secured, addr, maxMessageSize, remoteStaticKey);
}

/** An established connection of the tether protocol. */
class TetherSession implements Session {
  readonly conn: Conn;
  readonly addr: string;
  readonly maxMessageSize: number;
  readonly remoteStaticKey: Uint8Array | null;
  readonly #framed: FramedConn<TypedMessage>;
  /** Messages whose send resolved. */
  #sent = 0;
  /** Of those, how many the peer confirmed reading. */
  #confirmed = 0;
  /** Messages of the peer's that the application read. */
  #read = 0;
  /** The count last confirmed to the peer. */
  #told = 0;
  #ackTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #counted = () => {
    this.#sent++;
  };

  constructor(conn: Conn, addr: string, maxMessageSize: number, remoteStaticKey: Uint8Array | null) {
    this.conn = conn;
    this.addr = addr;
    this.maxMessageSize = maxMessageSize;
    this.remoteStaticKey = remoteStaticKey;
    this.#framed = typedFrames(conn, {
      maxMessageSize: Math.max(maxMessageSize, CONTROL_ROOM),
      allowTypeZero: true,
    });
  }

  get unconfirmed(): number {
    return this.#sent - this.#confirmed;
  }

  send(type: number, data: Uint8Array, signal: AbortSignal | undefined): Promise<void> {
    return this.#framed.send({ type, data }, signal === undefined ? undefined : { signal }).then(
      this.#counted,
    );
  }

  async receive(): Promise<IpcMessage | null> {
    for (;;) {
      const message = await this.#framed.receive();
      if (message === null) return null;
      if (message.type !== 0) {
        if (message.data.length > this.maxMessageSize) {
          this.close();
          throw new MessageTooLargeError({
            op: "receive",
            addr: this.addr,
            size: message.data.length,
            limit: this.maxMessageSize,
            detail: "the peer sent it",
          });
        }
        return message;
      }
      this.#control(message.data);
    }
  }

  #control(data: Uint8Array): void {
    if (data.length !== 5 || data[0] !== ACK) {
      this.close();
      throw new ProtocolError({
        op: "receive",
        addr: this.addr,
        detail: `unknown control message ${hex(data)}`,
      });
    }
    const count = new DataView(data.buffer, data.byteOffset).getUint32(1);
    const advance = (count - (this.#confirmed % 2 ** 32) + 2 ** 32) % 2 ** 32;
    if (this.#confirmed + advance > this.#sent) {
      this.close();
      throw new ProtocolError({
        op: "receive",
        addr: this.addr,
        detail: `the peer confirmed ${this.#confirmed + advance} messages, but ${this.#sent} were sent`,
      });
    }
    this.#confirmed += advance;
  }

  delivered(): void {
    this.#read++;
    // The application came back for this message, so it is done with the
    // ones before: those are confirmed now, in batches; this one, once the
    // timer fires. Never the one being handed over: "read" means the
    // application got it and went on.
    const done = this.#read - 1;
    if (done - this.#told >= ACK_EVERY) this.#confirm(done);
    if (this.#ackTimer === undefined) {
      this.#ackTimer = setTimeout(() => {
        this.#ackTimer = undefined;
        this.#confirm(this.#read);
      }, ACK_DELAY_MS);
      (globalThis as { Deno?: typeof Deno }).Deno?.unrefTimer(this.#ackTimer as unknown as number);
    }
  }

  #confirm(count: number): void {
    if (count <= this.#told) return;
    this.#told = count;
    const data = new Uint8Array(5);
    data[0] = ACK;
    new DataView(data.buffer).setUint32(1, count % 2 ** 32);
    this.#framed.send({ type: 0, data }).catch(noop);
  }

  close(): void {
    clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    this.#framed.close();
  }
}
