/**
 * A first-in first-out list with O(1) push and shift at any length, for the
 * queues of waiting calls and queued bytes. Private to the package.
 *
 * @module
 */

/** A FIFO over an array with a moving head; compacts once half is dead. */
export class Fifo<T> {
  #items: (T | undefined)[] = [];
  #head = 0;

  /** How many items are queued. */
  get length(): number {
    return this.#items.length - this.#head;
  }

  /** The item at position `i` from the head. */
  at(i: number): T {
    return this.#items[this.#head + i] as T;
  }

  /** Adds to the tail. */
  push(item: T): void {
    this.#items.push(item);
  }

  /** Removes and returns the head; the list must not be empty. */
  shift(): T {
    const item = this.#items[this.#head] as T;
    this.#items[this.#head++] = undefined;
    if (this.#head === this.#items.length) {
      // Emptied: start over in the same array, so a queue that fills and
      // drains once per message allocates nothing.
      this.#items.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** The position of `item` from the head, or -1. */
  indexOf(item: T): number {
    const i = this.#items.indexOf(item, this.#head);
    return i < 0 ? -1 : i - this.#head;
  }

  /** Removes and returns the items from position `start` to the tail. */
  removeFrom(start: number): T[] {
    return this.#items.splice(this.#head + start) as T[];
  }

  /** Removes the item at position `i`. */
  removeAt(i: number): void {
    this.#items.splice(this.#head + i, 1);
  }

  /** Iterates from head to tail. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = this.#head; i < this.#items.length; i++) yield this.#items[i] as T;
  }
}
