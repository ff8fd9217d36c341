/**
 * Noise's HandshakeState (rev 34, §5.3): one state machine for every pattern,
 * driven by the token lists of {@linkcode parsePattern}.
 *
 * @module
 */

import { HandshakeError } from "../errors.ts";
import { concat } from "./bytes.ts";
import { type CipherFunctions, type CipherState, DecryptError, TAG_LENGTH } from "./cipher.ts";
import { dh, DH_LENGTH } from "./dh.ts";
import type { HashFunctions } from "./hash.ts";
import { type DhKeyPair, generateEphemeral, type KeyPair } from "./keys.ts";
import { type HandshakePattern, pskCount, staticKeyUse, type Token } from "./patterns.ts";
import { SymmetricState } from "./symmetric.ts";

/** The largest Noise message (§3). */
export const MAX_MESSAGE_LENGTH = 65535;

/** The length of a pre-shared key (§9). */
export const PSK_LENGTH = 32;

/** What a handshake starts from. */
export interface HandshakeInit {
  /** The pattern, from `parsePattern`. */
  pattern: HandshakePattern;
  /** Whether this side sends the first message. */
  initiator: boolean;
  /** The AEAD. */
  cipher: CipherFunctions;
  /** The hash. */
  hash: HashFunctions;
  /** Bytes both sides must agree on; mixed into the handshake hash. */
  prologue?: Uint8Array;
  /** This side's static key pair, if the pattern sends or pre-shares one. */
  s?: KeyPair;
  /**
   * The peer's static public key, if this side knows it beforehand: only for
   * a pattern whose pre-message holds it. A pattern in which the peer sends
   * its key refuses to read one over a key already set.
   */
  rs?: Uint8Array;
  /** One PSK per `psk` token, in order. */
  psks?: readonly Uint8Array[];
  /** A fixed ephemeral key pair instead of a fresh one: test vectors only. */
  e?: KeyPair;
}

/** What a finished handshake leaves. */
export interface HandshakeResult {
  /** The cipher state this side sends with. */
  send: CipherState;
  /** The cipher state this side receives with. */
  receive: CipherState;
  /** h at the end: a unique name for this session, for channel binding. */
  handshakeHash: Uint8Array;
  /** The peer's static public key, if the pattern carries or pre-shares one. */
  remoteStaticKey: Uint8Array | null;
}

const EMPTY = new Uint8Array(0);

/** Whether `token` is a Diffie-Hellman. */
function isDh(token: Token | undefined): boolean {
  return token === "ee" || token === "es" || token === "se" || token === "ss";
}

/** One side of a Noise handshake. */
export class HandshakeState {
  readonly #pattern: HandshakePattern;
  readonly #initiator: boolean;
  readonly #symmetric: SymmetricState;
  readonly #s: KeyPair | undefined;
  #e: DhKeyPair | undefined;
  #rs: Uint8Array | undefined;
  /** Whether `#rs` came in a handshake message rather than beforehand. */
  #rsReceived = false;
  #re: Uint8Array | undefined;
  readonly #psks: readonly Uint8Array[];
  #pskIndex = 0;
  #index = 0;
  /** Tokens of message `#index` already read from its head (see {@linkcode HandshakeState.readHead}). */
  #headTokens = 0;
  #failed = false;

  private constructor(init: HandshakeInit, symmetric: SymmetricState) {
    this.#pattern = init.pattern;
    this.#initiator = init.initiator;
    this.#symmetric = symmetric;
    this.#s = init.s;
    this.#e = init.e;
    this.#rs = init.rs;
    this.#psks = init.psks ?? [];
  }

  /** Initialize(): checks the keys the pattern needs and mixes the prologue and pre-messages. */
  static async initialize(init: HandshakeInit): Promise<HandshakeState> {
    const { pattern, initiator, cipher, hash } = init;
    const use = staticKeyUse(pattern, initiator);
    if (use.local && init.s === undefined) {
      throw new TypeError(`pattern ${pattern.name} needs this side's static key pair`);
    }
    if (use.remoteBeforehand && init.rs === undefined) {
      throw new TypeError(`pattern ${pattern.name} needs the peer's static public key beforehand`);
    }
    if ([...pattern.initiatorPreMessage, ...pattern.responderPreMessage].includes("e")) {
      throw new TypeError(`pattern ${pattern.name} pre-shares an ephemeral key; that is not supported`);
    }
    const needed = pskCount(pattern);
    if ((init.psks?.length ?? 0) !== needed) {
      throw new TypeError(`pattern ${pattern.name} needs ${needed} PSK(s), got ${init.psks?.length ?? 0}`);
    }
    for (const psk of init.psks ?? []) {
      if (psk.length !== PSK_LENGTH) {
        throw new RangeError(`a PSK must be ${PSK_LENGTH} bytes, got ${psk.length}`);
      }
    }
    const protocolName = `Noise_${pattern.name}_25519_${cipher.name}_${hash.name}`;
    const symmetric = await SymmetricState.initialize(protocolName, hash, cipher);
    await symmetric.mixHash(init.prologue ?? EMPTY);
    const state = new HandshakeState(init, symmetric);
    // Pre-messages carry only static keys: the initiator's first, then the responder's.
    const initiatorStatic = initiator ? init.s?.publicKey : init.rs;
    const responderStatic = initiator ? init.rs : init.s?.publicKey;
    for (const _ of pattern.initiatorPreMessage) await symmetric.mixHash(initiatorStatic!);
    for (const _ of pattern.responderPreMessage) await symmetric.mixHash(responderStatic!);
    return state;
  }

  /** Whether every message has been written or read. */
  get complete(): boolean {
    return this.#index >= this.#pattern.messages.length;
  }

  /** Whether the next message is this side's to write. */
  get myTurn(): boolean {
    return (this.#index % 2 === 0) === this.#initiator;
  }

  /** The peer's static public key, once known. */
  get remoteStaticKey(): Uint8Array | null {
    return this.#rs ?? null;
  }

  /**
   * The peer's static public key if it came in a handshake message (never a
   * pre-shared one): what a caller must check. When the message it came in
   * also mixed a DH with it, reading that message proved the peer holds its
   * private key; otherwise a later message, or the first transport message,
   * does.
   */
  get receivedStaticKey(): Uint8Array | null {
    return this.#rsReceived ? this.#rs! : null;
  }

  /**
   * How many bytes at the front of the next message may travel ahead of the
   * rest: its ephemeral key, when a Diffie-Hellman comes right after it;
   * else 0. The writer sends them before it computes that DH, and the
   * reader computes its own DH with them while the rest is on its way, so
   * the two sides' DHs, a handshake's costliest steps, overlap instead of
   * following each other. The bytes on the wire are the same.
   */
  headLength(): number {
    const tokens = this.#pattern.messages[this.#index];
    return tokens !== undefined && tokens[0] === "e" && isDh(tokens[1]) ? DH_LENGTH : 0;
  }

  /** The length the next message has when it carries `payloadLength` bytes. */
  messageLength(payloadLength: number): number {
    let length = 0;
    let keyed = this.#symmetric.hasKey();
    for (const token of this.#pattern.messages[this.#index]) {
      if (token === "e") {
        length += DH_LENGTH;
        if (this.#pattern.usesPsk) keyed = true;
      } else if (token === "s") {
        length += DH_LENGTH + (keyed ? TAG_LENGTH : 0);
      } else {
        keyed = true;
      }
    }
    return length + payloadLength + (keyed ? TAG_LENGTH : 0);
  }

  /**
   * WriteMessage(payload): the next message, this side's turn. With
   * `sendHead`, the message's first {@linkcode HandshakeState.headLength}
   * bytes (if any) are handed to it as soon as they are made, before the
   * DH that follows them; the message returned is still the whole of it.
   */
  async writeMessage(
    payload: Uint8Array,
    sendHead?: (head: Uint8Array) => void,
  ): Promise<Uint8Array> {
    this.#checkTurn(true);
    const sym = this.#symmetric;
    const parts: Uint8Array[] = [];
    const early = sendHead !== undefined && this.headLength() > 0;
    try {
      for (const token of this.#pattern.messages[this.#index]) {
        if (token === "e") {
          this.#e ??= await generateEphemeral();
          parts.push(this.#e.publicKey);
          await sym.mixHash(this.#e.publicKey);
          if (this.#pattern.usesPsk) await sym.mixKey(this.#e.publicKey);
          if (early) sendHead(this.#e.publicKey);
        } else if (token === "s") {
          parts.push(await sym.encryptAndHash(this.#s!.publicKey));
        } else {
          await this.#mixToken(token);
        }
      }
      parts.push(await sym.encryptAndHash(payload));
    } catch (err) {
      this.#failed = true;
      throw err;
    }
    this.#index++;
    const message = concat(...parts);
    if (message.length > MAX_MESSAGE_LENGTH) {
      this.#failed = true;
      throw new RangeError(`handshake message of ${message.length} bytes exceeds ${MAX_MESSAGE_LENGTH}`);
    }
    return message;
  }

  /**
   * Reads the head of the peer's next message (its first
   * {@linkcode HandshakeState.headLength} bytes, which must be more than
   * 0): the ephemeral key and the DHs right behind it. `readMessage` then
   * takes the whole message, head included, and goes on from there.
   * HandshakeError if the key is bad.
   */
  async readHead(head: Uint8Array): Promise<void> {
    this.#checkTurn(false);
    const length = this.headLength();
    if (length === 0 || this.#headTokens > 0 || head.length !== length) {
      throw new Error(`readHead() takes the ${length} bytes headLength() names, once, before readMessage()`);
    }
    const tokens = this.#pattern.messages[this.#index];
    let count = 1;
    while (isDh(tokens[count])) count++;
    try {
      await this.#readTokens(tokens.slice(0, count), head);
    } catch (err) {
      this.#failed = true;
      throw err;
    }
    this.#headTokens = count;
  }

  /** ReadMessage(message): the payload of the peer's next message; HandshakeError if it is bad. */
  async readMessage(message: Uint8Array): Promise<Uint8Array> {
    this.#checkTurn(false);
    const sym = this.#symmetric;
    const skip = this.#headTokens;
    try {
      const tokens = this.#pattern.messages[this.#index];
      // The head, if read ahead, was the ephemeral key: its bytes start the message.
      const at = await this.#readTokens(tokens.slice(skip), message, skip === 0 ? 0 : DH_LENGTH);
      const rest = message.subarray(at);
      if (sym.hasKey() && rest.length < TAG_LENGTH) this.#tooShort();
      const payload = await sym.decryptAndHash(rest);
      this.#index++;
      this.#headTokens = 0;
      return payload;
    } catch (err) {
      this.#failed = true;
      if (err instanceof DecryptError) {
        throw new HandshakeError({
          detail: `message ${this.#index + 1} failed authentication: wrong key or PSK, or not a Noise peer`,
          cause: err,
        });
      }
      throw err;
    }
  }

  /** Reads `tokens` of the current message from `message`, starting at byte `at`; returns where they end. */
  async #readTokens(tokens: readonly Token[], message: Uint8Array, at = 0): Promise<number> {
    const sym = this.#symmetric;
    const take = (n: number): Uint8Array => {
      if (message.length - at < n) this.#tooShort();
      return message.subarray(at, at += n);
    };
    for (const token of tokens) {
      if (token === "e") {
        this.#re = take(DH_LENGTH).slice();
        await sym.mixHash(this.#re);
        if (this.#pattern.usesPsk) await sym.mixKey(this.#re);
      } else if (token === "s") {
        // rev 34 §5.3: rs "must be empty". A key given beforehand must never
        // be overwritten by one from the wire, which nobody would check.
        if (this.#rs !== undefined) {
          throw new HandshakeError({
            detail: `message ${this.#index + 1} carries the peer's static key, but this side already has one`,
          });
        }
        const sealed = take(DH_LENGTH + (sym.hasKey() ? TAG_LENGTH : 0));
        this.#rs = await sym.decryptAndHash(sealed);
        this.#rsReceived = true;
      } else {
        await this.#mixToken(token);
      }
    }
    return at;
  }

  #tooShort(): never {
    throw new HandshakeError({ detail: `message ${this.#index + 1} is too short` });
  }

  /** Split(): the transport cipher states, once the handshake is complete. */
  async split(): Promise<HandshakeResult> {
    if (!this.complete || this.#failed) throw new Error("split() before the handshake completed");
    const states = await this.#symmetric.split();
    const [send, receive] = this.#initiator
      ? [states.initiatorToResponder, states.responderToInitiator]
      : [states.responderToInitiator, states.initiatorToResponder];
    return {
      send,
      receive,
      handshakeHash: this.#symmetric.handshakeHash(),
      remoteStaticKey: this.#rs?.slice() ?? null,
    };
  }

  /** The DH and PSK tokens, the same whichever side writes. */
  async #mixToken(token: Exclude<Token, "e" | "s">): Promise<void> {
    const sym = this.#symmetric;
    if (token === "psk") {
      await sym.mixKeyAndHash(this.#psks[this.#pskIndex++]);
      return;
    }
    // es: initiator's e with responder's s; se: initiator's s with responder's e.
    const initiatorKey = token[0] === "e" ? "e" : "s";
    const responderKey = token[1] === "e" ? "e" : "s";
    const [localKey, remoteKey] = this.#initiator
      ? [initiatorKey, responderKey]
      : [responderKey, initiatorKey];
    const local = localKey === "e" ? this.#e : this.#s;
    const remote = remoteKey === "e" ? this.#re : this.#rs;
    if (local === undefined || remote === undefined) {
      throw new Error(`pattern ${this.#pattern.name}: token ${token} before its keys are known`);
    }
    await sym.mixKey(await dh(local, remote));
  }

  #checkTurn(writing: boolean): void {
    if (this.#failed) throw new HandshakeError({ detail: "the handshake already failed" });
    if (this.complete) throw new Error("the handshake is already complete");
    if (this.myTurn !== writing) {
      throw new Error(writing ? "not this side's turn to write" : "not this side's turn to read");
    }
  }
}
