/**
 * Option checks shared by `serve()` and `connectClient()`: bad options are
 * a `TypeError` or `RangeError` before anything is opened. Private to
 * `ipc/`.
 *
 * @module
 */

import { describe } from "../_validate.ts";
import { checkKey, checkKeyPair } from "../crypto/keys.ts";
import type { Security } from "./_tether_protocol.ts";
import type { IpcProtocol, IpcSecurityOptions } from "./types.ts";

/** The encryption options both sides take. */
export type SecurityOptions = IpcSecurityOptions;

/** Checks `protocol`; default `"tether"`. */
export function checkProtocol(value: unknown): IpcProtocol {
  if (value === undefined) return "tether";
  if (value !== "tether" && value !== "golang-ipc") {
    throw new TypeError(`protocol must be "tether" or "golang-ipc", got ${describe(value)}`);
  }
  return value;
}

/** Checks the encryption options of `side` and returns them. */
export function checkSecurity(
  options: SecurityOptions,
  side: "server" | "client",
  protocol: IpcProtocol,
): Security {
  const { encryption = true, psk, keys } = options;
  if (typeof encryption !== "boolean") {
    throw new TypeError(`encryption must be a boolean, got ${describe(encryption)}`);
  }
  if (protocol === "golang-ipc") {
    if (psk !== undefined || keys !== undefined) {
      throw new TypeError(
        "golang-ipc's protocol has no psk or static keys: its key exchange is unauthenticated; " +
          'use protocol "tether" (the default) to authenticate',
      );
    }
    return { encryption };
  }
  if ((psk !== undefined || keys !== undefined) && !encryption) {
    throw new TypeError("psk and keys need encryption: leave encryption on (the default)");
  }
  if (psk !== undefined) {
    checkKey(psk, "psk");
    if (keys !== undefined) throw new TypeError("give either psk or keys, not both");
  }
  if (keys !== undefined) {
    if (keys === null || typeof keys !== "object") {
      throw new TypeError(`keys must be an object, got ${describe(keys)}`);
    }
    if (keys.keyPair !== undefined) checkKeyPair(keys.keyPair, "keys.keyPair");
    if (keys.verifyRemote !== undefined && typeof keys.verifyRemote !== "function") {
      throw new TypeError(`keys.verifyRemote must be a function, got ${describe(keys.verifyRemote)}`);
    }
    if (side === "server") {
      if (keys.keyPair === undefined) {
        throw new TypeError("a server's keys need its keyPair (from generateKeyPair())");
      }
      if (keys.serverKey !== undefined) {
        throw new TypeError("keys.serverKey is for clients, to pin their server");
      }
    } else {
      if (keys.serverKey !== undefined) checkKey(keys.serverKey, "keys.serverKey");
      if (keys.serverKey === undefined && keys.verifyRemote === undefined) {
        throw new TypeError(
          "a client's keys need serverKey (the server's public key) or verifyRemote (to check it): " +
            "otherwise anyone could pose as the server",
        );
      }
    }
  }
  return { encryption, psk, keys };
}

/** Checks a message type: a whole number from 1 to 2^32 - 1. */
export function checkType(type: unknown): number {
  if (typeof type !== "number") throw new TypeError(`message type must be a number, got ${describe(type)}`);
  if (!Number.isInteger(type) || type < 1 || type > 0xffff_ffff) {
    throw new RangeError(
      `message type must be a whole number from 1 to 4294967295 (0 is reserved), got ${type}`,
    );
  }
  return type;
}
