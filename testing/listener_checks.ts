/**
 * The rules of the {@linkcode Listener} contract, one check each, over a
 * fresh listener and a way to dial it. They depend on the contract alone.
 *
 * @module
 */

import type { CallOptions, Conn } from "../conn.ts";
import type { Dialer, Listener } from "../listener.ts";
import { ConnClosedError, ConnError, ListenerClosedError } from "../errors.ts";
import { assert, bytesEqual, type Expected, instanceOf, rejects, show } from "./_assert.ts";
import { readExactly, text, tick, writeUntilRefused } from "./_bytes.ts";
import type { Check } from "./_runner.ts";

/**
 * A listener and a dialer that reaches it: what a listener check needs.
 *
 * @example
 * ```ts
 * import { listen } from "@tether/tether";
 * import type { ListenerFixture } from "@tether/tether/testing";
 *
 * const listener = listen({ transport: "memory" });
 * const fixture: ListenerFixture = { listener, dialer: listener.dialer() };
 * fixture.listener.close();
 * ```
 */
export interface ListenerFixture {
  /** A fresh listener. */
  readonly listener: Listener;
  /** Connects to it. */
  readonly dialer: Dialer;
}

/**
 * What a listener check runs on: the fixture's listener, and `dial` and
 * `accept` calls whose conns the kit closes after the check, as it does
 * with any conn handed to `track`.
 *
 * @example
 * ```ts
 * import { listen } from "@tether/tether";
 * import { type Check, type ListenerSubject, runListenerChecks } from "@tether/tether/testing";
 *
 * const oneConnect: Check<ListenerSubject> = {
 *   id: "oneConnect",
 *   title: "a connect is accepted",
 *   async run({ dial, accept }) {
 *     await dial();
 *     await accept();
 *   },
 * };
 * const make = () => {
 *   const listener = listen({ transport: "memory" });
 *   return { listener, dialer: listener.dialer() };
 * };
 * const [result] = await runListenerChecks(make, { checks: [oneConnect] });
 * console.log(result.outcome); // "passed"
 * ```
 */
export interface ListenerSubject {
  /** The listener under test. */
  readonly listener: Listener;
  /** Dials the listener through the fixture's dialer. */
  dial(options?: CallOptions): Promise<Conn>;
  /** Accepts from the listener. */
  accept(options?: CallOptions): Promise<Conn>;
  /** Hands `conn` to the kit to close after the check; returns it. */
  track<C extends Conn>(conn: C): C;
}

/** Writes `message` on `from` and fails unless `to` reads exactly it. */
async function exchange(from: Conn, to: Conn, message: string, what: string): Promise<void> {
  await from.write(text(message));
  bytesEqual(await readExactly(to, text(message).length), text(message), what);
}

/**
 * A `ConnError` whose message names `op` and the listener's address, with
 * `timeout` as given and the reason `signal` aborted with as its cause.
 */
function abortedCall(op: string, listener: Listener, signal: AbortSignal, timeout: boolean): Expected {
  return {
    description: `a ConnError naming the ${op} and ${show(listener.addr.address)}, with timeout ${timeout} ` +
      "and the signal's reason as its cause",
    test: (err) =>
      err instanceof ConnError && err.timeout === timeout && err.cause === signal.reason &&
      err.message.includes(op) && err.message.includes(listener.addr.address),
  };
}

/** What a connect to a closed listener may fail with. */
const refusedAfterClose: Expected = {
  description: "a ConnError: refused, listener closed, or (for a transport whose connects wait for " +
    "a listener to appear) the connect's deadline",
  test: (err) => err instanceof ConnError,
};

/**
 * Every listener check, in the order the kit runs them.
 *
 * @example
 * ```ts
 * import { listenerChecks } from "@tether/tether/testing";
 *
 * console.log(listenerChecks.map((c) => c.id).includes("connectThenAccept")); // true
 * ```
 */
export const listenerChecks: readonly Check<ListenerSubject>[] = [
  {
    id: "connectThenAccept",
    title: "connect, then accept, in sequence: the connect completes from the backlog",
    async run({ dial, accept }, context) {
      context.step("await the connect, before any accept");
      const client = await dial();
      context.step("write on the conn nobody accepted yet");
      await client.write(text("hello"));
      context.step("accept");
      const server = await accept();
      context.step("the accepted conn reads the bytes, and answers");
      bytesEqual(await readExactly(server, 5), text("hello"), "what the accepted conn reads");
      await exchange(server, client, "welcome", "what the client reads");
    },
  },
  {
    id: "acceptThenConnect",
    title: "an accept waiting before the connect gets it; bytes flow both ways",
    async run({ dial, accept }, context) {
      context.step("accept, then connect");
      const accepting = context.spawn(accept());
      await tick();
      const client = await dial();
      context.step("the waiting accept resolves");
      const server = await accepting;
      context.step("bytes both ways");
      await exchange(client, server, "ping", "what the server reads");
      await exchange(server, client, "pong", "what the client reads");
    },
  },
  {
    id: "backlog",
    title: "three connects wait unaccepted; each is then accepted with its own bytes",
    async run({ dial, accept }, context) {
      const sent: string[] = [];
      for (let i = 0; i < 3; i++) {
        context.step(`connect and write, client ${i + 1} of 3`);
        const client = await dial();
        sent.push(`client ${i}`);
        await client.write(text(sent[i]));
      }
      const got: string[] = [];
      for (let i = 0; i < 3; i++) {
        context.step(`accept ${i + 1} of 3 and read its bytes`);
        got.push(new TextDecoder().decode(await readExactly(await accept(), 8)));
      }
      assert(
        [...got].sort().join() === sent.join(),
        "the bytes of the accepted conns",
        show(sent),
        got,
      );
    },
  },
  {
    id: "acceptSignal",
    title: "accept honours its signal: a ConnError naming the accept, its cause the reason; " +
      "an aborted accept takes no connection",
    async run({ listener, dial, accept }, context) {
      context.step("accept with a 50 ms deadline, nobody connecting");
      const deadline = AbortSignal.timeout(50);
      await rejects(
        accept({ signal: deadline }),
        abortedCall("accept", listener, deadline, true),
        "an accept past its deadline",
      );
      context.step("accept, then abort it with a reason");
      const controller = new AbortController();
      const cancelled = context.spawn(accept({ signal: controller.signal }));
      await tick();
      controller.abort(new Error("stop accepting"));
      await rejects(
        cancelled,
        abortedCall("accept", listener, controller.signal, false),
        "an aborted accept",
      );
      context.step("accept with an already-aborted signal");
      const early = AbortSignal.abort(new Error("already over"));
      await rejects(
        accept({ signal: early }),
        abortedCall("accept", listener, early, false),
        "an accept with an aborted signal",
      );
      context.step("accept with a signal that is no AbortSignal");
      const notASignal = { aborted: false } as unknown as AbortSignal;
      await rejects(
        accept({ signal: notASignal }),
        instanceOf(TypeError),
        "an accept with a signal that is no AbortSignal",
      );
      context.step("connect: the next accept gets it, none of the aborted ones");
      const client = await dial();
      const server = await accept();
      await exchange(client, server, "still here", "what the next accepted conn reads");
    },
  },
  {
    id: "dialSignal",
    title: "a dial with an aborted signal fails at once with a ConnError naming the connect, one with a " +
      "signal that is not an AbortSignal with a TypeError, and neither connects anything",
    async run({ listener, dial, accept }, context) {
      context.step("dial with an already-aborted signal");
      const reason = new Error("no time");
      await rejects(
        dial({ signal: AbortSignal.abort(reason) }),
        {
          description: `a ConnError naming the connect, its cause the signal's reason (${show(reason)})`,
          test: (err) => err instanceof ConnError && err.cause === reason && err.message.includes("connect"),
        },
        "a dial with an aborted signal",
      );
      context.step("dial with a signal that is not an AbortSignal");
      await rejects(
        dial({ signal: "soon" as unknown as AbortSignal }),
        { description: "a TypeError", test: (err) => err instanceof TypeError },
        "a dial whose signal is not an AbortSignal",
      );
      context.step("dial, accept: the accepted conn is the new dial's");
      const client = await dial();
      const server = await accept();
      await exchange(
        client,
        server,
        "fresh",
        `what the conn accepted from ${show(listener.addr.address)} reads`,
      );
    },
  },
  {
    id: "iterate",
    title: "for await yields each connection and ends quietly when the listener closes",
    async run({ listener, dial, track }, context) {
      context.step("iterate while two clients connect");
      const seen: Conn[] = [];
      let arrived!: () => void;
      const both = new Promise<void>((resolve) => (arrived = resolve));
      const iterating = context.spawn((async () => {
        for await (const conn of listener) {
          seen.push(track(conn));
          if (seen.length === 2) arrived();
        }
      })());
      const clients = [await dial(), await dial()];
      await Promise.race([both, iterating]);
      assert(seen.length === 2, "the conns for await yielded", "2", seen.length);
      context.step("close the listener: the loop ends without an error");
      listener.close();
      await iterating;
      context.step("each yielded conn talks to its client");
      for (const [i, client] of clients.entries()) {
        await exchange(client, seen[i], `client ${i}`, `what yielded conn ${i + 1} reads`);
      }
    },
  },
  {
    id: "closePendingAccepts",
    title: "close() rejects pending accepts with ListenerClosedError and leaves accepted conns open",
    async run({ listener, dial, accept }, context) {
      context.step("connect and accept one");
      const client = await dial();
      const server = await accept();
      context.step("close with two accepts pending");
      const pending = [context.spawn(accept()), context.spawn(accept())];
      await tick();
      listener.close();
      const closedError = instanceOf(ListenerClosedError);
      for (const [i, p] of pending.entries()) await rejects(p, closedError, `pending accept ${i + 1}`);
      await rejects(accept(), closedError, "an accept after close()");
      listener.close(); // idempotent
      context.step("the accepted conn still works both ways");
      await exchange(client, server, "still", "what the accepted conn reads");
      await exchange(server, client, "open", "what the client reads");
    },
  },
  {
    id: "connectAfterClose",
    title: "a connect after close() fails with a ConnError",
    async run({ listener, dial }, context) {
      context.step("close, then dial with a 250 ms deadline");
      listener.close();
      await rejects(dial({ signal: AbortSignal.timeout(250) }), refusedAfterClose, "a dial after close()");
    },
  },
  {
    id: "closeBacklog",
    title: "a connect not yet accepted when the listener closes sees its peer close",
    async run({ listener, dial }, context) {
      context.step("connect, then close the listener without accepting");
      const client = await dial();
      listener.close();
      context.step("read on the unaccepted conn");
      const got = await client.read(new Uint8Array(1)).then((n) => n, (err) => err);
      assert(
        got === null || got instanceof ConnClosedError,
        "a read on a conn whose listener closed before accepting it",
        "EOF (null) or a ConnClosedError",
        got,
      );
      context.step("write until a write fails");
      await writeUntilRefused(client, context.signal, "a write on a conn whose listener closed");
    },
  },
  {
    id: "addresses",
    title: "addresses: the listener's, and both ends' of a conn through it, name its transport (and port)",
    async run({ listener, dial, accept }, context) {
      context.step("connect and accept");
      const client = await dial();
      const server = await accept();
      const { transport, address, port } = listener.addr;
      assert(
        typeof transport === "string" && transport !== "",
        "listener.addr.transport",
        "a transport name",
        transport,
      );
      assert(typeof address === "string", "listener.addr.address", "a string", address);
      for (
        const [what, addr] of [["client.remoteAddr", client.remoteAddr], [
          "server.localAddr",
          server.localAddr,
        ]] as const
      ) {
        assert(addr.transport === transport, `${what}.transport`, show(transport), addr.transport);
        if (port !== undefined) {
          assert(addr.port === port, `${what}.port`, `the listener's port, ${port}`, addr.port);
        }
      }
      assert(
        server.remoteAddr.transport === transport,
        "server.remoteAddr.transport",
        show(transport),
        server.remoteAddr.transport,
      );
      assert(
        client.localAddr.transport === transport,
        "client.localAddr.transport",
        show(transport),
        client.localAddr.transport,
      );
    },
  },
  {
    id: "dispose",
    title: "disposing the listener closes it",
    async run({ listener, accept }, context) {
      context.step("async-dispose, then accept");
      await listener[Symbol.asyncDispose]();
      await rejects(accept(), instanceOf(ListenerClosedError), "an accept after dispose");
      listener[Symbol.dispose](); // and again, the sync way: idempotent
    },
  },
];
