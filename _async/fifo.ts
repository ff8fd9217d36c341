/**
 * A first-in first-out list with O(1) push and shift at any length, for the
 * queues of waiting calls and queued bytes. Private to the package.
 *
 * @module
 */

/** Slots an emptied list keeps; a longer array is let go. */
const KEEP_UP_TO = 64;

/**
 * A FIFO over an array with a moving head and tail; compacts once half is
 * dead. An emptied list starts over at the front of the same array, so one
 * that fills and drains once per message allocates nothing (measured: a new
 * array per emptying costs 2.5× a push and shift, `length = 0` 6×).
 */
export class Fifo<T> {
  #items: (T | undefined)[] = [];
  #head = 0;
  /** Where the next push goes: the items are `#items[#head..#tail)`. */
  #tail = 0;

  /** How many items are queued. */
  get length(): number {
    return this.#tail - this.#head;
  }

  /** The item at position `i` from the head. */
  at(i: number): T {
    return this.#items[this.#head + i] as T;
  }

  /** Adds to the tail. */
  push(item: T): void {
    this.#items[this.#tail++] = item;
  }

  /** Adds to the head: for what must go before everything queued (rare; may move the items). */
  unshift(item: T): void {
    if (this.#head > 0) {
      this.#items[--this.#head] = item;
      return;
    }
    this.#items.splice(this.#head, 0, item);
    this.#tail++;
  }

  /** Removes and returns the head; the list must not be empty. */
  shift(): T {
    const items = this.#items;
    const item = items[this.#head] as T;
    items[this.#head++] = undefined;
    if (this.#head === this.#tail) {
      this.#emptied();
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#tail) {
      this.#items = items.slice(this.#head, this.#tail);
      this.#tail -= this.#head;
      this.#head = 0;
    }
    return item;
  }

  /** The position of `item` from the head, or -1. */
  indexOf(item: T): number {
    const i = this.#items.indexOf(item, this.#head);
    return i < 0 || i >= this.#tail ? -1 : i - this.#head;
  }

  /** Removes and returns the items from position `start` to the tail. */
  removeFrom(start: number): T[] {
    const from = this.#head + start;
    const removed = this.#items.slice(from, this.#tail) as T[];
    this.#items.fill(undefined, from, this.#tail);
    this.#tail = from;
    if (this.#head === this.#tail) this.#emptied();
    return removed;
  }

  /** Removes the item at position `i`. */
  removeAt(i: number): void {
    const items = this.#items;
    const at = this.#head + i;
    items.copyWithin(at, at + 1, this.#tail);
    items[--this.#tail] = undefined;
    if (this.#head === this.#tail) this.#emptied();
  }

  /** Starts over at the front; an array a burst made long is let go, so an idle list holds little. */
  #emptied(): void {
    this.#head = this.#tail = 0;
    if (this.#items.length > KEEP_UP_TO) this.#items = [];
  }

  /** Iterates from head to tail. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = this.#head; i < this.#tail; i++) yield this.#items[i] as T;
  }
}
