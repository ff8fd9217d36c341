/**
 * Telling the peer why a handshake was given up. Noise has no such message,
 * so this side sends a frame of one byte (no handshake message or record is
 * that short) before it closes: the peer then learns more than "the
 * connection ended", and a refused client knows its key was refused.
 *
 * @module
 */

/** The reasons, one byte each. */
export const REFUSAL = {
  /** `verifyRemote` refused the static key the peer sent. */
  keyRefused: 1,
  /** The peer's handshake message failed authentication: the PSK, keys, cipher, hash or prologue differ. */
  notAuthenticated: 2,
  /** The peer's handshake message had the wrong length: the pattern, suite or protocol differ. */
  mismatch: 3,
} as const;

/** How long a refusal may take to write before the conn is closed anyway. */
export const REFUSAL_TIMEOUT_MS = 1000;

/** Whether `byte` is one of the reasons above. */
export function isRefusal(byte: number): boolean {
  return byte === REFUSAL.keyRefused || byte === REFUSAL.notAuthenticated || byte === REFUSAL.mismatch;
}

/** What a refusal byte tells the side that receives it. */
export function refusalText(reason: number): string {
  switch (reason) {
    case REFUSAL.keyRefused:
      return "the peer refused this side's static key (its verifyRemote said no): " +
        "give the peer this key, or use the key it expects";
    case REFUSAL.notAuthenticated:
      return "the peer could not authenticate this side's handshake message: " +
        "the two sides use different PSKs or keys (or ciphers, hashes or prologues)";
    case REFUSAL.mismatch:
      return "the peer could not read this side's handshake message: the two sides use different patterns " +
        "(NN against NNpsk0, say), ciphers or hashes, or the peer speaks another protocol";
    default:
      return `the peer gave up on the handshake (reason ${reason})`;
  }
}
