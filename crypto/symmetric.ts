/**
 * Noise's SymmetricState (rev 34, §5.2): the chaining key and handshake hash
 * that every token of a handshake feeds, and the cipher state they key.
 *
 * @module
 */

import { type CipherFunctions, CipherState } from "./cipher.ts";
import type { HashFunctions } from "./hash.ts";
import { concat } from "./bytes.ts";

const EMPTY = new Uint8Array(0);

/** A cipher key is 32 bytes; SHA512's 64-byte outputs are cut to that. */
const CIPHER_KEY_LENGTH = 32;

/** The two cipher states a finished handshake splits into. */
export interface SplitStates {
  /** Keyed by the first output: the initiator sends with it. */
  initiatorToResponder: CipherState;
  /** Keyed by the second output: the responder sends with it. */
  responderToInitiator: CipherState;
}

/** The symmetric half of a handshake. */
export class SymmetricState {
  readonly #hash: HashFunctions;
  readonly #cipher: CipherFunctions;
  readonly #state: CipherState;
  #ck: Uint8Array;
  #h: Uint8Array;

  private constructor(hash: HashFunctions, cipher: CipherFunctions, h: Uint8Array) {
    this.#hash = hash;
    this.#cipher = cipher;
    this.#state = new CipherState(cipher);
    this.#h = h;
    this.#ck = h;
  }

  /** InitializeSymmetric(protocol_name). */
  static async initialize(
    protocolName: string,
    hash: HashFunctions,
    cipher: CipherFunctions,
  ): Promise<SymmetricState> {
    const name = new TextEncoder().encode(protocolName);
    let h: Uint8Array;
    if (name.length <= hash.hashLength) {
      h = new Uint8Array(hash.hashLength);
      h.set(name);
    } else {
      h = await hash.hash(name);
    }
    return new SymmetricState(hash, cipher, h);
  }

  /** MixKey(input_key_material). */
  async mixKey(ikm: Uint8Array): Promise<void> {
    const [ck, tempK] = await this.#hash.hkdf(this.#ck, ikm, 2);
    this.#ck = ck;
    await this.#state.initializeKey(tempK.subarray(0, CIPHER_KEY_LENGTH));
  }

  /** MixHash(data). */
  async mixHash(data: Uint8Array): Promise<void> {
    this.#h = await this.#hash.hash(concat(this.#h, data));
  }

  /** MixKeyAndHash(input_key_material): how a PSK enters. */
  async mixKeyAndHash(ikm: Uint8Array): Promise<void> {
    const [ck, tempH, tempK] = await this.#hash.hkdf(this.#ck, ikm, 3);
    this.#ck = ck;
    await this.mixHash(tempH);
    await this.#state.initializeKey(tempK.subarray(0, CIPHER_KEY_LENGTH));
  }

  /** Whether a key is set yet; decides whether `s` goes encrypted. */
  hasKey(): boolean {
    return this.#state.hasKey();
  }

  /** GetHandshakeHash(): a copy of h. */
  handshakeHash(): Uint8Array {
    return this.#h.slice();
  }

  /** EncryptAndHash(plaintext). */
  async encryptAndHash(plaintext: Uint8Array): Promise<Uint8Array> {
    const ciphertext = await this.#state.encryptWithAd(this.#h, plaintext);
    await this.mixHash(ciphertext);
    return ciphertext;
  }

  /** DecryptAndHash(ciphertext); rejects with `DecryptError`. */
  async decryptAndHash(ciphertext: Uint8Array): Promise<Uint8Array> {
    const plaintext = await this.#state.decryptWithAd(this.#h, ciphertext);
    await this.mixHash(ciphertext);
    return plaintext;
  }

  /** Split(): the two transport cipher states. */
  async split(): Promise<SplitStates> {
    const [k1, k2] = await this.#hash.hkdf(this.#ck, EMPTY, 2);
    const initiatorToResponder = new CipherState(this.#cipher);
    const responderToInitiator = new CipherState(this.#cipher);
    await initiatorToResponder.initializeKey(k1.subarray(0, CIPHER_KEY_LENGTH));
    await responderToInitiator.initializeKey(k2.subarray(0, CIPHER_KEY_LENGTH));
    return { initiatorToResponder, responderToInitiator };
  }
}
