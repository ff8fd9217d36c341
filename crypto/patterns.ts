/**
 * The handshake patterns of Noise rev 34 (§7.4 one-way, §7.5 interactive,
 * §18 deferred), written in the spec's own notation, and the `pskN`
 * modifiers (§9) that turn any of them into a PSK pattern. The handshake
 * state machine reads nothing but these tables.
 *
 * @module
 */

/** A token of a message or pre-message pattern. */
export type Token = "e" | "s" | "ee" | "es" | "se" | "ss" | "psk";

/** A parsed handshake pattern. */
export interface HandshakePattern {
  /** The pattern's name as it appears in the protocol name, modifiers included. */
  readonly name: string;
  /** Keys the initiator's peer knows before the handshake (pre-message `->`). */
  readonly initiatorPreMessage: readonly Token[];
  /** Keys the initiator knows before the handshake (pre-message `<-`). */
  readonly responderPreMessage: readonly Token[];
  /** The messages in order; even indices go initiator to responder. */
  readonly messages: readonly (readonly Token[])[];
  /** Whether only the initiator sends (N, K, X and their variants). */
  readonly oneWay: boolean;
  /** Whether a `psk` token appears, which makes `e` also mix its key. */
  readonly usesPsk: boolean;
}

/**
 * The name of a base pattern, without modifiers: the one-way N, K, X; the
 * twelve fundamental interactive patterns; and the deferred ones of §18.
 *
 * @example
 * ```ts
 * import type { BasePatternName } from "@tether/tether/crypto";
 *
 * const mutual: BasePatternName = "XX";
 * console.log(mutual);
 * ```
 */
export type BasePatternName =
  | "N"
  | "K"
  | "X"
  | "NN"
  | "NK"
  | "NX"
  | "XN"
  | "XK"
  | "XX"
  | "KN"
  | "KK"
  | "KX"
  | "IN"
  | "IK"
  | "IX"
  | "NK1"
  | "NX1"
  | "X1N"
  | "X1K"
  | "XK1"
  | "X1K1"
  | "X1X"
  | "XX1"
  | "X1X1"
  | "K1N"
  | "K1K"
  | "KK1"
  | "K1K1"
  | "K1X"
  | "KX1"
  | "K1X1"
  | "I1N"
  | "I1K"
  | "IK1"
  | "I1K1"
  | "I1X"
  | "IX1"
  | "I1X1";

/** The base patterns, each as the spec writes it, `...` ending the pre-messages. */
const BASE_PATTERNS: Record<BasePatternName, readonly string[]> = {
  // One-way (§7.4).
  N: ["<- s", "...", "-> e, es"],
  K: ["-> s", "<- s", "...", "-> e, es, ss"],
  X: ["<- s", "...", "-> e, es, s, ss"],
  // Interactive, fundamental (§7.5).
  NN: ["-> e", "<- e, ee"],
  NK: ["<- s", "...", "-> e, es", "<- e, ee"],
  NX: ["-> e", "<- e, ee, s, es"],
  XN: ["-> e", "<- e, ee", "-> s, se"],
  XK: ["<- s", "...", "-> e, es", "<- e, ee", "-> s, se"],
  XX: ["-> e", "<- e, ee, s, es", "-> s, se"],
  KN: ["-> s", "...", "-> e", "<- e, ee, se"],
  KK: ["-> s", "<- s", "...", "-> e, es, ss", "<- e, ee, se"],
  KX: ["-> s", "...", "-> e", "<- e, ee, se, s, es"],
  IN: ["-> e, s", "<- e, ee, se"],
  IK: ["<- s", "...", "-> e, es, s, ss", "<- e, ee, se"],
  IX: ["-> e, s", "<- e, ee, se, s, es"],
  // Interactive, deferred (§18).
  NK1: ["<- s", "...", "-> e", "<- e, ee, es"],
  NX1: ["-> e", "<- e, ee, s", "-> es"],
  X1N: ["-> e", "<- e, ee", "-> s", "<- se"],
  X1K: ["<- s", "...", "-> e, es", "<- e, ee", "-> s", "<- se"],
  XK1: ["<- s", "...", "-> e", "<- e, ee, es", "-> s, se"],
  X1K1: ["<- s", "...", "-> e", "<- e, ee, es", "-> s", "<- se"],
  X1X: ["-> e", "<- e, ee, s, es", "-> s", "<- se"],
  XX1: ["-> e", "<- e, ee, s", "-> es, s, se"],
  X1X1: ["-> e", "<- e, ee, s", "-> es, s", "<- se"],
  K1N: ["-> s", "...", "-> e", "<- e, ee", "-> se"],
  K1K: ["-> s", "<- s", "...", "-> e, es", "<- e, ee", "-> se"],
  KK1: ["-> s", "<- s", "...", "-> e", "<- e, ee, se, es"],
  K1K1: ["-> s", "<- s", "...", "-> e", "<- e, ee, es", "-> se"],
  K1X: ["-> s", "...", "-> e", "<- e, ee, s, es", "-> se"],
  KX1: ["-> s", "...", "-> e", "<- e, ee, se, s", "-> es"],
  K1X1: ["-> s", "...", "-> e", "<- e, ee, s", "-> se, es"],
  I1N: ["-> e, s", "<- e, ee", "-> se"],
  I1K: ["<- s", "...", "-> e, es, s", "<- e, ee", "-> se"],
  IK1: ["<- s", "...", "-> e, s", "<- e, ee, se, es"],
  I1K1: ["<- s", "...", "-> e, s", "<- e, ee, es", "-> se"],
  I1X: ["-> e, s", "<- e, ee, s, es", "-> se"],
  IX1: ["-> e, s", "<- e, ee, se, s", "-> es"],
  I1X1: ["-> e, s", "<- e, ee, s", "-> se, es"],
};

/**
 * A pattern name: a base pattern, optionally with PSK modifiers such as
 * `NNpsk0` or `XXpsk0+psk3`.
 *
 * @example
 * ```ts
 * import type { PatternName } from "@tether/tether/crypto";
 *
 * const patterns: PatternName[] = ["NN", "NNpsk0", "XX", "IK", "KK", "XXpsk3"];
 * console.log(patterns.length); // 6
 * ```
 */
export type PatternName =
  | BasePatternName
  | `${BasePatternName}psk${number}`
  | `${BasePatternName}psk${string}`;

/** The names of every base pattern. */
export const BASE_PATTERN_NAMES: readonly BasePatternName[] = Object.keys(BASE_PATTERNS) as BasePatternName[];

const ONE_WAY = new Set<string>(["N", "K", "X"]);
const TOKENS = new Set<string>(["e", "s", "ee", "es", "se", "ss", "psk"]);
const cache = new Map<string, HandshakePattern>();

/**
 * Parses a pattern name, modifiers included; throws a `TypeError` for a name
 * that is not a Noise pattern.
 */
export function parsePattern(name: string): HandshakePattern {
  let pattern = cache.get(name);
  if (pattern === undefined) {
    pattern = build(name);
    cache.set(name, pattern);
  }
  return pattern;
}

function build(name: string): HandshakePattern {
  const at = name.indexOf("psk");
  const base = at < 0 ? name : name.slice(0, at);
  const lines: readonly string[] | undefined = Object.hasOwn(BASE_PATTERNS, base)
    ? BASE_PATTERNS[base as BasePatternName]
    : undefined;
  if (lines === undefined) {
    throw new TypeError(
      `unknown Noise pattern ${JSON.stringify(name)}: expected one of ${BASE_PATTERN_NAMES}`,
    );
  }
  const split = lines.indexOf("...");
  const pre = split < 0 ? [] : lines.slice(0, split);
  const initiatorPreMessage = pre.filter((l) => l.startsWith("->")).flatMap(tokens);
  const responderPreMessage = pre.filter((l) => l.startsWith("<-")).flatMap(tokens);
  const messages = lines.slice(split + 1).map(tokens);
  if (at >= 0) applyPskModifiers(name, name.slice(at), messages);
  return {
    name,
    initiatorPreMessage,
    responderPreMessage,
    messages,
    oneWay: ONE_WAY.has(base),
    usesPsk: at >= 0,
  };
}

/** Splits `-> e, es` into its tokens; the arrows alternate as the table is written. */
function tokens(line: string): Token[] {
  return line.slice(2).split(",").map((t) => t.trim()).filter((t) => {
    if (!TOKENS.has(t)) throw new Error(`bad token ${t} in pattern table`);
    return true;
  }) as Token[];
}

/** `psk0` puts a psk token first in the first message; `pskN` last in message N. */
function applyPskModifiers(name: string, modifiers: string, messages: Token[][]): void {
  const seen = new Set<number>();
  for (const modifier of modifiers.split("+")) {
    const match = /^psk(0|[1-9][0-9]*)$/.exec(modifier);
    const n = match ? Number(match[1]) : NaN;
    if (!match || n > messages.length || seen.has(n)) {
      throw new TypeError(
        `bad PSK modifier ${JSON.stringify(modifier)} in pattern ${JSON.stringify(name)}: ` +
          `expected psk0 to psk${messages.length}, each once, joined by "+"`,
      );
    }
    seen.add(n);
    if (n === 0) messages[0].unshift("psk");
    else messages[n - 1].push("psk");
  }
}

/** How many `psk` tokens a pattern has: how many PSKs it needs. */
export function pskCount(pattern: HandshakePattern): number {
  return pattern.messages.reduce((sum, m) => sum + m.filter((t) => t === "psk").length, 0);
}

/** Which static keys one side of a pattern deals with. */
export interface StaticKeyUse {
  /** This side needs its own static key pair: it sends it or pre-shares it. */
  local: boolean;
  /** This side must know the peer's static key beforehand (a pre-message). */
  remoteBeforehand: boolean;
  /** The peer sends this side its static key during the handshake. */
  remoteSent: boolean;
}

/** Which static keys the initiator (or responder) of `pattern` deals with. */
export function staticKeyUse(pattern: HandshakePattern, initiator: boolean): StaticKeyUse {
  const mine = initiator ? pattern.initiatorPreMessage : pattern.responderPreMessage;
  const theirs = initiator ? pattern.responderPreMessage : pattern.initiatorPreMessage;
  const sentBy = (byInitiator: boolean) =>
    pattern.messages.some((m, i) => (i % 2 === 0) === byInitiator && m.includes("s"));
  return {
    local: mine.includes("s") || sentBy(initiator),
    remoteBeforehand: theirs.includes("s"),
    remoteSent: sentBy(!initiator),
  };
}
