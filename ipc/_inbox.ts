/**
 * Received messages waiting for the application, bounded in count and
 * bytes: the pump that fills one waits for room, so a reader that falls
 * behind holds its peer back instead of growing memory. Private to `ipc/`.
 *
 * @module
 */

import { Fifo } from "../_async/fifo.ts";
import { type Waiter, waiter } from "../_async/waiter.ts";
import type { IpcMessage } from "./types.ts";

/** Messages an inbox holds before its pump waits (one more always fits). */
export const INBOX_MESSAGES = 256;
/** Bytes an inbox holds before its pump waits (one message of any size always fits). */
export const INBOX_BYTES = 1024 * 1024;

/** A bounded FIFO of messages. */
export class Inbox {
  readonly #items = new Fifo<IpcMessage>();
  #bytes = 0;
  #room: Waiter<void> | null = null;

  /** How many messages wait. */
  get length(): number {
    return this.#items.length;
  }

  /** Adds a message; `false` once the inbox is full (the pump should wait for `room()`). */
  push(message: IpcMessage): boolean {
    this.#items.push(message);
    this.#bytes += message.data.byteLength;
    return !this.#full();
  }

  /** Takes the oldest message; the inbox must not be empty. */
  shift(): IpcMessage {
    const message = this.#items.shift();
    this.#bytes -= message.data.byteLength;
    if (this.#room !== null && !this.#full()) this.wake();
    return message;
  }

  /** Resolves once there is room again (or `wake()` is called). */
  room(): Promise<void> {
    if (!this.#full()) return Promise.resolve();
    return (this.#room ??= waiter<void>()).promise;
  }

  /** Lets a waiting pump go on (to see that its session ended). */
  wake(): void {
    const room = this.#room;
    this.#room = null;
    room?.resolve();
  }

  /** Drops everything. */
  clear(): void {
    this.#items.removeFrom(0);
    this.#bytes = 0;
    this.wake();
  }

  #full(): boolean {
    return this.#items.length >= INBOX_MESSAGES || this.#bytes >= INBOX_BYTES;
  }
}
