/**
 * golang-ipc's wire protocol, version 2, as `../shared/golang-ipc-protocol.md`
 * describes github.com/james-barrow/golang-ipc v1.2.4: the handshake
 * (version and encryption bytes, a P-384 ECDH whose key is the SHA-256 of
 * the shared x-coordinate *without its leading zero bytes*, the server's
 * maximum message size), then frames `u32 L` + payload, the payload
 * `u32 type || data`, or `nonce(12) || AES-256-GCM(u32 type || data) || tag(16)`
 * when encrypted. Each handshake step goes out in one write, as the Go side
 * reads each with one `Read`.
 *
 * Where the Go code crashes or hangs, this side does not: a key that is not
 * 97 bytes of an uncompressed point on the curve, a frame too short for its
 * type, nonce or tag, a frame that fails authentication, a length over the
 * maximum: each is a typed error that closes that connection. A frame of
 * type 0 is dropped, as golang-ipc drops it. The protocol authenticates
 * nobody and has no replay protection: see `docs/ipc.md`. Private to `ipc/`.
 *
 * @module
 */

import type { Conn } from "../conn.ts";
import { ConnError, HandshakeError, MessageTooLargeError, ProtocolError } from "../errors.ts";
import { type FramedConn, frames, MAX_MESSAGE_SIZE_LIMIT } from "../frame.ts";
import { noop } from "../_async/waiter.ts";
import { cutOff, type HandshakeContext, hex, readFull, type Session } from "./_session.ts";
import type { IpcMessage } from "./types.ts";

/** The protocol version golang-ipc v1.2.4 speaks. */
export const GOLANG_IPC_VERSION = 2;
/** An uncompressed SEC1 P-384 point: `0x04 || X(48) || Y(48)`. */
export const P384_KEY_LENGTH = 97;
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
const TYPE_LENGTH = 4;
/** The bytes a frame adds to a message's data. */
function overhead(encrypted: boolean): number {
  return TYPE_LENGTH + (encrypted ? NONCE_LENGTH + TAG_LENGTH : 0);
}

const ECDH = { name: "ECDH", namedCurve: "P-384" } as const;

/** A P-384 key pair and its public key as golang-ipc sends it. */
interface EcKeyPair {
  publicKey: Uint8Array;
  privateKey: CryptoKey;
}

async function generateP384(): Promise<EcKeyPair> {
  const pair = await crypto.subtle.generateKey(ECDH, false, ["deriveBits"]) as CryptoKeyPair;
  return {
    publicKey: new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey)),
    privateKey: pair.privateKey,
  };
}

/**
 * The next ephemeral key pair. Each is used once; the one after it is made
 * in the background meanwhile, as making one takes milliseconds here.
 */
let nextKeyPair: Promise<EcKeyPair> | null = null;
function takeKeyPair(): Promise<EcKeyPair> {
  const pair = nextKeyPair ?? generateP384();
  nextKeyPair = generateP384();
  nextKeyPair.catch(noop);
  return pair;
}

/** Starts making a key pair ahead, so the first handshake need not wait for one. */
export function warmGolangKeys(): void {
  if (nextKeyPair === null) {
    nextKeyPair = generateP384();
    nextKeyPair.catch(noop);
  }
}

/**
 * golang-ipc's key: SHA-256 of the shared x-coordinate as Go's
 * `big.Int.Bytes()` gives it, that is without leading zero bytes.
 */
export async function golangCipherKey(sharedX: Uint8Array): Promise<Uint8Array> {
  let start = 0;
  while (start < sharedX.length && sharedX[start] === 0) start++;
  return new Uint8Array(
    await crypto.subtle.digest("SHA-256", sharedX.slice(start) as Uint8Array<ArrayBuffer>),
  );
}

/** The AES-256-GCM key both sides derive; a bad peer key is a `HandshakeError`. */
async function agree(mine: EcKeyPair, peerKey: Uint8Array, addr: string): Promise<CryptoKey> {
  // WebCrypto takes compressed keys and points off the curve at import; the
  // Go side sends neither and accepts neither, so check the form first.
  if (peerKey.length !== P384_KEY_LENGTH || peerKey[0] !== 0x04) {
    throw new HandshakeError({
      addr,
      detail: `the peer's public key is not a ${P384_KEY_LENGTH}-byte uncompressed P-384 point ` +
        `(${peerKey.length} bytes starting ${hex(peerKey.subarray(0, 1))})`,
    });
  }
  let x: Uint8Array;
  try {
    const peer = await crypto.subtle.importKey("raw", peerKey.slice(), ECDH, false, []);
    x = new Uint8Array(await crypto.subtle.deriveBits({ name: "ECDH", public: peer }, mine.privateKey, 384));
  } catch (err) {
    throw new HandshakeError({ addr, detail: "the peer's public key is not a point on P-384", cause: err });
  }
  const raw = await golangCipherKey(x);
  return await crypto.subtle.importKey("raw", raw as Uint8Array<ArrayBuffer>, "AES-GCM", false, [
    "encrypt",
    "decrypt",
  ]);
}

async function seal(key: CryptoKey, plaintext: Uint8Array): Promise<Uint8Array> {
  const nonce = crypto.getRandomValues(new Uint8Array(NONCE_LENGTH));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce }, key, plaintext as Uint8Array<ArrayBuffer>),
  );
  const out = new Uint8Array(NONCE_LENGTH + sealed.length);
  out.set(nonce);
  out.set(sealed, NONCE_LENGTH);
  return out;
}

async function open(key: CryptoKey, payload: Uint8Array, addr: string): Promise<Uint8Array> {
  if (payload.length < NONCE_LENGTH + TAG_LENGTH) {
    throw new ProtocolError({
      op: "receive",
      addr,
      detail: `a ${payload.length}-byte encrypted frame cannot hold its nonce and tag`,
    });
  }
  try {
    return new Uint8Array(
      await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: payload.subarray(0, NONCE_LENGTH) as Uint8Array<ArrayBuffer> },
        key,
        payload.subarray(NONCE_LENGTH) as Uint8Array<ArrayBuffer>,
      ),
    );
  } catch (err) {
    throw new ProtocolError({ op: "receive", addr, detail: "a frame failed authentication", cause: err });
  }
}

function u32(n: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, n);
  return bytes;
}

function withLength(payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(4 + payload.length);
  new DataView(frame.buffer).setUint32(0, payload.length);
  frame.set(payload, 4);
  return frame;
}

/** What a server needs to take a golang-ipc client in. */
export interface GolangAcceptSettings {
  /** Whether to encrypt (the server alone decides, in golang-ipc). */
  encryption: boolean;
  /** The largest message data, announced to the client. */
  maxMessageSize: number;
  /** Takes a client slot; `false` if the server is busy (one client at a time). */
  admit(): boolean;
}

/** The server's side of golang-ipc's handshake. */
export async function acceptGolang(
  conn: Conn,
  context: HandshakeContext,
  settings: GolangAcceptSettings,
): Promise<Session> {
  const { addr, signal } = context;
  if (!settings.admit()) {
    // golang-ipc has no word for "busy": the connection is closed before any byte.
    throw new ConnError({
      code: "EBUSY",
      op: "accept",
      addr,
      summary: "client refused: the server serves one client at a time (multiClient: false) and has one",
    });
  }
  const encrypted = settings.encryption;
  await conn.write(Uint8Array.of(GOLANG_IPC_VERSION, encrypted ? 1 : 0), { signal });
  const reply = await readFull(conn, 1, signal);
  if (!reply.complete) throw cutOff(addr, "the client's reply to the version");
  const code = reply.bytes[0];
  if (code !== 0) {
    throw new HandshakeError({
      addr,
      detail: code === 1
        ? `the client refused: it does not speak golang-ipc version ${GOLANG_IPC_VERSION}`
        : code === 2
        ? "the client refused: it requires encryption, and this server has encryption: false"
        : `the client failed the handshake (reply code ${code})`,
    });
  }
  let key: CryptoKey | null = null;
  if (encrypted) {
    const mine = await takeKeyPair();
    await conn.write(mine.publicKey, { signal });
    const peer = await readFull(conn, P384_KEY_LENGTH, signal);
    if (!peer.complete) {
      if (peer.bytes.length === 0) throw cutOff(addr, "the key exchange");
      throw new HandshakeError({
        addr,
        detail: `the client's public key is ${peer.bytes.length} bytes, not 97`,
      });
    }
    key = await agree(mine, peer.bytes, addr);
  }
  const plain = u32(settings.maxMessageSize);
  await conn.write(withLength(key === null ? plain : await seal(key, plain)), { signal });
  const done = await readFull(conn, 1, signal); // the client's 0; golang-ipc ignores its value too
  if (!done.complete) throw cutOff(addr, "the client's last handshake byte");
  return new GolangSession(conn, addr, key, settings.maxMessageSize);
}

/**
 * The client's side of golang-ipc's handshake. With `requireEncryption`
 * (what `encryption: true` means here, as for golang-ipc's client) a plain
 * server is refused; otherwise the client takes what the server announces.
 */
export async function dialGolang(
  conn: Conn,
  context: HandshakeContext,
  requireEncryption: boolean,
): Promise<Session> {
  const { addr, signal } = context;
  const first = await readFull(conn, 2, signal);
  if (!first.complete) throw cutOff(addr, "the server's version bytes", first.bytes);
  const [version, enc] = first.bytes;
  if (version !== GOLANG_IPC_VERSION) {
    await conn.write(Uint8Array.of(1), { signal }).catch(noop);
    throw new HandshakeError({
      addr,
      detail: `the server speaks golang-ipc version ${version}, this client version ${GOLANG_IPC_VERSION}` +
        (version === 0x74 ? ' (a tether ipc server? connect with protocol: "tether")' : ""),
    });
  }
  if (requireEncryption && enc !== 1) {
    await conn.write(Uint8Array.of(2), { signal }).catch(noop);
    throw new HandshakeError({
      addr,
      detail: "the server does not encrypt, and this client requires it (encryption: true): " +
        "set encryption: false on the client to accept a plain server",
    });
  }
  const encrypted = enc !== 0; // golang-ipc's client takes any non-zero byte as "encrypt"
  await conn.write(Uint8Array.of(0), { signal });
  let key: CryptoKey | null = null;
  if (encrypted) {
    const peer = await readFull(conn, P384_KEY_LENGTH, signal);
    if (!peer.complete) {
      if (peer.bytes.length === 0) throw cutOff(addr, "the key exchange");
      throw new HandshakeError({
        addr,
        detail: `the server's public key is ${peer.bytes.length} bytes, not 97`,
      });
    }
    const mine = await takeKeyPair();
    await conn.write(mine.publicKey, { signal });
    key = await agree(mine, peer.bytes, addr);
  }
  const header = await readFull(conn, 4, signal);
  if (!header.complete) throw cutOff(addr, "the server's maximum message size", header.bytes);
  const length = new DataView(header.bytes.buffer).getUint32(0);
  const expected = key === null ? 4 : 4 + NONCE_LENGTH + TAG_LENGTH;
  if (length !== expected) {
    throw new HandshakeError({
      addr,
      detail: `the server's maximum-size frame is ${length} bytes, not ${expected}`,
    });
  }
  const body = await readFull(conn, length, signal);
  if (!body.complete) throw cutOff(addr, "the server's maximum message size", body.bytes);
  let plain: Uint8Array;
  try {
    plain = key === null ? body.bytes : await open(key, body.bytes, addr);
  } catch (err) {
    throw new HandshakeError({
      addr,
      detail: "the server's maximum-size frame failed authentication: the keys differ",
      cause: err,
    });
  }
  const maxMessageSize = new DataView(plain.buffer, plain.byteOffset).getUint32(0);
  await conn.write(Uint8Array.of(0), { signal });
  return new GolangSession(conn, addr, key, maxMessageSize);
}

/** An established golang-ipc connection. */
class GolangSession implements Session {
  readonly conn: Conn;
  readonly addr: string;
  readonly maxMessageSize: number;
  readonly remoteStaticKey = null;
  readonly unconfirmed = undefined;
  readonly #framed: FramedConn<Uint8Array>;
  readonly #key: CryptoKey | null;
  /** Sealing is asynchronous: frames leave in call order through this chain. */
  #tail: Promise<unknown> = Promise.resolve();

  constructor(conn: Conn, addr: string, key: CryptoKey | null, maxMessageSize: number) {
    this.conn = conn;
    this.addr = addr;
    this.#key = key;
    this.maxMessageSize = maxMessageSize;
    this.#framed = frames(conn, {
      maxMessageSize: Math.min(maxMessageSize + overhead(key !== null), MAX_MESSAGE_SIZE_LIMIT),
    });
  }

  send(type: number, data: Uint8Array, signal: AbortSignal | undefined): Promise<void> {
    const plain = new Uint8Array(TYPE_LENGTH + data.length);
    new DataView(plain.buffer).setUint32(0, type);
    plain.set(data, TYPE_LENGTH);
    const options = signal === undefined ? undefined : { signal };
    const key = this.#key;
    if (key === null) return this.#framed.send(plain, options);
    const sealing = seal(key, plain);
    const sending = this.#tail.then(() => sealing).then((payload) => this.#framed.send(payload, options));
    this.#tail = sending.catch(noop);
    return sending;
  }

  async receive(): Promise<IpcMessage | null> {
    for (;;) {
      const payload = await this.#framed.receive();
      if (payload === null) return null;
      const plain = this.#key === null ? payload : await open(this.#key, payload, this.addr);
      if (plain.length < TYPE_LENGTH) {
        throw new ProtocolError({
          op: "receive",
          addr: this.addr,
          detail: `a frame of ${plain.length} byte(s) has no room for its 4-byte message type`,
        });
      }
      const type = new DataView(plain.buffer, plain.byteOffset).getUint32(0);
      if (type === 0) continue; // golang-ipc's "control message": dropped, as there
      const data = plain.subarray(TYPE_LENGTH);
      if (data.length > this.maxMessageSize) {
        throw new MessageTooLargeError({
          op: "receive",
          addr: this.addr,
          size: data.length,
          limit: this.maxMessageSize,
          detail: "the peer sent it",
        });
      }
      return { type, data };
    }
  }

  delivered(): void {}

  close(): void {
    this.#framed.close();
  }
}
