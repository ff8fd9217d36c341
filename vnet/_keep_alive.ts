/**
 * Open sockets keep a process alive, and code relies on it: a client that
 * waits on a socket's idle timeout (an unref'd timer) must not see the
 * event loop end under it. Virtual conns and listeners have no socket, so
 * the network keeps one ref'd timer running while any of them is open and
 * ref'd. Private to `vnet/`.
 *
 * @module
 */

/** One open thing's claim on the process: ref'd at first, as a socket is. */
export interface Hold {
  ref(): void;
  unref(): void;
  /** The thing closed: the claim goes for good. */
  release(): void;
}

/** Long enough never to fire in a test; it only has to exist. */
const FOREVER_MS = 2 ** 30;

/** Counts the ref'd holds, and keeps one timer while there are any. */
export class KeepAlive {
  #count = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** A new hold, ref'd. */
  hold(): Hold {
    let state: "ref" | "unref" | "released" = "ref";
    this.#add(1);
    return {
      ref: () => {
        if (state !== "unref") return;
        state = "ref";
        this.#add(1);
      },
      unref: () => {
        if (state !== "ref") return;
        state = "unref";
        this.#add(-1);
      },
      release: () => {
        if (state === "ref") this.#add(-1);
        state = "released";
      },
    };
  }

  #add(n: number): void {
    this.#count += n;
    if (this.#count > 0 && this.#timer === undefined) {
      this.#timer = setInterval(() => {}, FOREVER_MS);
    } else if (this.#count === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}
