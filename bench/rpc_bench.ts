/**
 * capnweb calls per second over a tether conn (rpcTransport(frames(pipe())))
 * against capnweb's own MessagePort transport over a MessageChannel (the
 * baseline), in the same run: `N round trips` of `add(i, 1)` each, one at a
 * time, and N pipelined at once.
 */

import { newMessagePortRpcSession, RpcSession, type RpcStub, RpcTarget } from "capnweb";
import { frames, pipe } from "../mod.ts";
import { rpcTransport } from "../rpc/mod.ts";

const N = 200;

class Calculator extends RpcTarget {
  add(a: number, b: number): number {
    return a + b;
  }
}

function overTether(): RpcStub<Calculator> {
  const [a, b] = pipe();
  new RpcSession(rpcTransport(frames(b)), new Calculator());
  return new RpcSession<Calculator>(rpcTransport(frames(a))).getRemoteMain();
}

function overMessageChannel(): RpcStub<Calculator> {
  const channel = new MessageChannel();
  newMessagePortRpcSession(channel.port2, new Calculator());
  return newMessagePortRpcSession<Calculator>(channel.port1);
}

const tether = overTether();
const port = overMessageChannel();

async function oneAtATime(calc: RpcStub<Calculator>): Promise<void> {
  for (let i = 0; i < N; i++) {
    if ((await calc.add(i, 1)) !== i + 1) throw new Error("wrong sum");
  }
}

async function allAtOnce(calc: RpcStub<Calculator>): Promise<void> {
  const sums = await Promise.all(Array.from({ length: N }, (_, i) => calc.add(i, 1)));
  if (sums[N - 1] !== N) throw new Error("wrong sum");
}

Deno.bench({
  name: `capnweb over a MessageChannel, ${N} round trips`,
  group: "rpc: one call at a time",
  baseline: true,
  async fn() {
    await oneAtATime(port);
  },
});
Deno.bench({
  name: `capnweb over rpcTransport(frames(pipe())), ${N} round trips`,
  group: "rpc: one call at a time",
  async fn() {
    await oneAtATime(tether);
  },
});
Deno.bench({
  name: `capnweb over a MessageChannel, ${N} calls in flight (${N} round trips)`,
  group: "rpc: calls in flight",
  baseline: true,
  async fn() {
    await allAtOnce(port);
  },
});
Deno.bench({
  name: `capnweb over rpcTransport(frames(pipe())), ${N} calls in flight (${N} round trips)`,
  group: "rpc: calls in flight",
  async fn() {
    await allAtOnce(tether);
  },
});
