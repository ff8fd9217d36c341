/**
 * tether's own ipc protocol, version 2.
 *
 * ## Wire format
 *
 * 1. The client sends its 16-byte hello: `"tipc"`, `version:u8`,
 *    `security:u8` (the Noise pattern it wants, below), 10 zero bytes;
 *    when it wants encryption, the first Noise handshake message
 *    (`secure()`'s framing: a 2-byte length, then the message) follows in
 *    the same write.
 * 2. The server answers with its 16-byte hello: `"tipc"`, `version:u8`,
 *    `mode:u8` (what it wants), `verdict:u8` (0 ok, 1 version mismatch,
 *    2 security mismatch, 3 busy: it serves one client at a time), a zero
 *    byte, `maxMessageSize:u32`, 4 zero bytes. On any verdict but 0 that is
 *    all, and both sides close, each able to name both sides' versions and
 *    wishes. Otherwise, when encrypting, the second Noise message follows,
 *    its payload the server's hello again (its ephemeral key in the
 *    hello's write, the rest in a second one: see `headLength()` in
 *    `crypto/handshake.ts`).
 * 3. The Noise handshake is `Noise_<pattern>_25519_ChaChaPoly_SHA256`, its
 *    prologue `"tether-ipc/2"` and the client's hello: a hello tampered
 *    with (a downgrade) fails it. The server's hello is authenticated as
 *    the payload of the second message, which the client compares with the
 *    one it read in the clear. A pattern of two messages (all but XX) is
 *    done then: two one-way trips, as without encryption. With XX the
 *    client sends the third message, and the server answers with one byte,
 *    1, over the secure conn once it accepts the client's key (a refused
 *    key is `secure()`'s refusal instead).
 * 4. Then typed frames (`typedFrames()`) both ways, at most the server's
 *    `maxMessageSize` of data each. Type 0 is the protocol's own:
 *    `0x01 count:u32` confirms that the application has read `count`
 *    messages (mod 2^32) of the peer's: every 128 messages (counting those
 *    it read before the one it is reading), and 20 ms after a read.
 *
 * All integers are unsigned big-endian. The hellos go in the clear: they say
 * nothing secret, and the handshake authenticates them. Version 1 differed
 * in step 3: the hellos were exchanged first, both in the prologue, then the
 * Noise handshake (with AESGCM), then a welcome byte for every pattern; a
 * version 1 peer and a version 2 one read each other's hellos and name both
 * versions in their error.
 *
 * @module
 */

import type { Conn } from "../conn.ts";
import { ConnError, HandshakeError, MessageTooLargeError, ProtocolError } from "../errors.ts";
import { type FramedConn, MAX_MESSAGE_SIZE_LIMIT, typedFrames, type TypedMessage } from "../frame.ts";
import { noop } from "../_async/waiter.ts";
import { type HandshakeFraming, secureFramed, type SecureOptions } from "../crypto/secure.ts";
import type { PatternName } from "../crypto/patterns.ts";
import { closingOnAbort, cutOff, type HandshakeContext, hex, readFull, type Session } from "./_session.ts";
import { FrameReader } from "../crypto/wire.ts";
import { SecureQueueConn } from "../crypto/records.ts";
import type { IpcKeys, IpcMessage } from "./types.ts";

/** The protocol version this side speaks. */
export const TETHER_IPC_VERSION = 2;

const MAGIC = [0x74, 0x69, 0x70, 0x63]; // "tipc"
const HELLO_LENGTH = 16;
/** The framed layer's limit never goes below this, so control frames always fit. */
const CONTROL_ROOM = 16;
const ACK = 0x01;
/** XX: the server accepts the client's key. */
const WELCOME = 0x01;
const ACK_DELAY_MS = 20;
const ACK_EVERY = 128;
const PROLOGUE = new TextEncoder().encode("tether-ipc/2");
/** The AEAD of the Noise handshake: synchronous for small records everywhere (see crypto/cipher.ts). */
const CIPHER = "ChaChaPoly";
/** How long a server that refused a client waits for it to hang up, reading what it sent meanwhile. */
const LINGER_MS = 1000;

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

function prologue(clientHello: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(PROLOGUE.length + HELLO_LENGTH);
  bytes.set(PROLOGUE);
  bytes.set(clientHello, PROLOGUE.length);
  return bytes;
}

/** Patterns of three messages, after which the server still has to say whether it accepts the client's key. */
function lastWordIsTheClients(pattern: PatternName): boolean {
  return pattern === "XX";
}

/**
 * A refused client gets the server's hello, then EOF; what it already sent
 * (its first Noise message) is read and dropped until it hangs up, so that
 * closing does not reset the connection under the hello it has to read.
 */
async function linger(conn: Conn, signal: AbortSignal): Promise<void> {
  try {
    await conn.closeWrite();
    const limit = AbortSignal.any([signal, AbortSignal.timeout(LINGER_MS)]);
    const scratch = new Uint8Array(256);
    while (await conn.read(scratch, { signal: limit }) !== null);
  } catch {
    // Gone, or too slow to hang up: it is closed anyway.
  }
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
export function acceptTether(
  conn: Conn,
  context: HandshakeContext,
  settings: AcceptSettings,
): Promise<Session> {
  return closingOnAbort(conn, context.signal, () => accept(conn, context, settings));
}

async function accept(conn: Conn, context: HandshakeContext, settings: AcceptSettings): Promise<Session> {
  const { addr, signal } = context;
  // Read through the reader the handshake goes on with: one read takes the
  // hello and the first Noise message behind it.
  const reader = new FrameReader(conn);
  const clientHello = await reader.take(HELLO_LENGTH);
  const complete = clientHello.length === HELLO_LENGTH;
  if (!isHello(clientHello)) {
    if (
      !complete && clientHello.length < 4 &&
      MAGIC.slice(0, clientHello.length).every((b, i) => clientHello[i] === b)
    ) {
      throw cutOff(addr, "the client's hello", clientHello);
    }
    throw new HandshakeError({
      addr,
      detail: `not a tether ipc client: it sent ${hex(clientHello)} instead of a hello`,
    });
  }
  if (!complete) throw cutOff(addr, "the client's hello", clientHello);
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
  const pattern = verdict === Verdict.Ok ? PATTERNS[client.pattern] : null;
  if (pattern === null) {
    await conn.write(serverHello);
    if (verdict !== Verdict.Ok) await linger(conn, signal);
  }
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
  if (pattern === null) {
    if (reader.buffered > 0) {
      throw new HandshakeError({
        addr,
        detail: `the client sent ${reader.buffered} bytes after its hello, before the server's: ` +
          "a client without encryption waits for the server's hello",
      });
    }
    return new TetherSession(conn, addr, settings.maxMessageSize, null);
  }
  const keys = settings.security.keys;
  const options: SecureOptions = {
    role: "responder",
    pattern,
    cipher: CIPHER,
    prologue: prologue(clientHello),
    signal,
  };
  if (pattern === "NNpsk0") options.psk = settings.security.psk;
  if (keys !== undefined && pattern !== "NN" && pattern !== "NNpsk0") {
    options.staticKeyPair = keys.keyPair;
    if ((pattern === "IK" || pattern === "XX") && keys.verifyRemote) {
      options.verifyRemote = keys.verifyRemote;
    }
  }
  // The hello goes with the second handshake message, and inside it, authenticated.
  const secured = await secureFramed(conn, options, { reader, lead: serverHello, payload: serverHello });
  if (lastWordIsTheClients(pattern)) await secured.write(Uint8Array.of(WELCOME));
  return new TetherSession(secured, addr, settings.maxMessageSize, secured.remoteStaticKey);
}

/**
 * The client's side of the handshake. Throws a `HandshakeError` for a
 * server that speaks something else or wants other settings, a `ConnError`
 * `EBUSY` (temporary) for a busy server, or a conn error.
 */
export function dialTether(conn: Conn, context: HandshakeContext, security: Security): Promise<Session> {
  return closingOnAbort(conn, context.signal, () => dial(conn, context, security));
}

async function dial(conn: Conn, context: HandshakeContext, security: Security): Promise<Session> {
  const { addr, signal } = context;
  const code = clientPattern(security);
  const clientHello = hello(TETHER_IPC_VERSION, code, 0);
  const pattern = PATTERNS[code];
  if (pattern === null) {
    await conn.write(clientHello);
    const got = await readFull(conn, HELLO_LENGTH);
    const maxMessageSize = checkServerHello(got.bytes, got.complete, code, addr);
    return new TetherSession(conn, addr, maxMessageSize, null);
  }
  const keys = security.keys;
  const options: SecureOptions = {
    role: "initiator",
    pattern,
    cipher: CIPHER,
    prologue: prologue(clientHello),
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
  let serverHello: Uint8Array = new Uint8Array(0);
  let maxMessageSize = 0;
  const framing: HandshakeFraming = {
    lead: clientHello,
    leadIn: {
      length: HELLO_LENGTH,
      check(bytes, complete) {
        maxMessageSize = checkServerHello(bytes, complete, code, addr);
        serverHello = bytes;
      },
    },
    peerPayload: {
      length: HELLO_LENGTH,
      check(payload) {
        if (!payload.every((b, i) => b === serverHello[i])) {
          throw new HandshakeError({
            addr,
            detail: "the server's hello was changed on its way: it differs from the one its handshake " +
              "message authenticates (someone tampers with the connection)",
          });
        }
      },
    },
  };
  const secured = await secureFramed(conn, options, framing);
  if (lastWordIsTheClients(pattern)) await welcome(secured, addr, signal);
  return new TetherSession(secured, addr, maxMessageSize, secured.remoteStaticKey);
}

/**
 * Reads the server's hello: its `maxMessageSize` if it accepts this client,
 * else the error that says why not (a `HandshakeError` naming both sides'
 * versions and wishes, a `ConnError` `EBUSY`, or a cut-off handshake).
 */
function checkServerHello(bytes: Uint8Array, complete: boolean, code: number, addr: string): number {
  if (!isHello(bytes)) {
    if (bytes.length === 0 && !complete) throw cutOff(addr, "the server's hello");
    const golang = bytes[0] === 2 && bytes.length <= 2;
    throw new HandshakeError({
      addr,
      detail: `not a tether ipc server: it sent ${hex(bytes)} instead of a hello` +
        (golang ? ' (a golang-ipc server? connect with protocol: "golang-ipc")' : ""),
    });
  }
  if (!complete) throw cutOff(addr, "the server's hello", bytes);
  const server = { version: bytes[4], mode: bytes[5] };
  const verdict = bytes[6];
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
  const maxMessageSize = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8);
  if (maxMessageSize > MAX_MESSAGE_SIZE_LIMIT) {
    throw new HandshakeError({
      addr,
      detail: `the server announced messages of up to ${maxMessageSize} bytes, over the limit of ` +
        `${MAX_MESSAGE_SIZE_LIMIT}: not a tether ipc server`,
    });
  }
  return maxMessageSize;
}

/** XX: waits for the server's word that it accepts this client's key. */
async function welcome(secured: Conn, addr: string, signal: AbortSignal): Promise<void> {
  let word: number | null;
  try {
    const one = new Uint8Array(1);
    word = await secured.read(one) === 1 ? one[0] : null;
  } catch (err) {
    secured.close();
    if (signal.aborted) throw err;
    throw new HandshakeError({
      addr,
      detail: "the server ended the handshake: its verifyRemote refused this client's key, or it closed",
      cause: err,
    });
  }
  if (word !== WELCOME) {
    secured.close();
    if (word === null) throw cutOff(addr, "the server's welcome");
    throw new HandshakeError({ addr, detail: `the server's welcome is ${word}, not ${WELCOME}` });
  }
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
    // A peer that sent its end-of-stream record hung up: it reads none of ours.
    if (this.conn instanceof SecureQueueConn) this.conn.closeAfterPeer();
    this.#framed.close();
  }
}
