/**
 * The host for runtimes with web workers (browsers, and Deno as the
 * reference): the `Worker` itself is the endpoint worker conns go through.
 */

import type { Host, RemoteWorker } from "./suite.ts";

/** A host whose workers run the module at `workerUrl`. */
export function webHost(runtime: string, workerUrl: URL): Host {
  return {
    runtime,
    startWorker() {
      const worker = new Worker(workerUrl, { type: "module" });
      const inbox = new Inbox();
      worker.addEventListener("message", (event) => inbox.put(event.data));
      const remote: RemoteWorker = {
        send: (command, transfer = []) => worker.postMessage(command, transfer),
        next: () => inbox.take(),
        endpoint: worker,
        linkCommand: () => ({ fields: {}, transfer: [] }),
        terminate: () => Promise.resolve(worker.terminate()),
      };
      return Promise.resolve(remote);
    },
  };
}

/** The worker's own messages (not tether's link messages), in order. */
export class Inbox {
  #messages: Record<string, unknown>[] = [];
  #waiting: ((m: Record<string, unknown>) => void)[] = [];

  put(data: unknown): void {
    if (data === null || typeof data !== "object" || "tether" in data) return;
    const taker = this.#waiting.shift();
    if (taker) taker(data as Record<string, unknown>);
    else this.#messages.push(data as Record<string, unknown>);
  }

  take(): Promise<Record<string, unknown>> {
    const m = this.#messages.shift();
    return m ? Promise.resolve(m) : new Promise((resolve) => this.#waiting.push(resolve));
  }
}
