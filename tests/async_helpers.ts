/** Helpers shared by the tests of the `_async/` primitives. */

/** How `promise` stands once the microtasks queued now have run. */
export function stateOf(promise: Promise<unknown>): Promise<"pending" | "fulfilled" | "rejected"> {
  return Promise.race([
    promise.then(() => "fulfilled" as const, () => "rejected" as const),
    new Promise<"pending">((resolve) => setTimeout(() => resolve("pending"), 0)),
  ]);
}
