/**
 * Many listens racing for one Unix socket path, across processes and within
 * each: exactly one wins and is reachable, every other gets
 * `AddrInUseError`, whether the path is empty or holds a stale socket file,
 * in every bind mode. `TETHER_RACE_ROUNDS` sets the rounds per mode (`deno
 * task fuzz` runs many).
 */
import assert from "node:assert/strict";
import { dirOf } from "../transports/socket_errors.ts";
import { type Child, inTempDir, leaveStaleSocket, spawnChild, within } from "./socket_helpers.ts";

const ROUNDS = Number(Deno.env.get("TETHER_RACE_ROUNDS") ?? 12);
const PROCESSES = 4;
const CALLS_PER_PROCESS = 3;

/** Each child listens `CALLS_PER_PROCESS` times at once on "go", serves its id to whoever connects, closes on "close". */
const CONTENDER = (path: string, id: number) => `
const held = [];
for await (const line of lines()) {
  if (line === "go") {
    const outcomes = await Promise.all(Array.from({ length: ${CALLS_PER_PROCESS} }, async (_, i) => {
      const who = ${id * CALLS_PER_PROCESS} + i;
      try {
        const listener = await t.listen({ transport: "unix", path: ${JSON.stringify(path)} });
        held.push(listener);
        (async () => {
          for await (const conn of listener) {
            await conn.write(Uint8Array.of(who)).catch(() => {});
            conn.close();
          }
        })();
        return { won: who };
      } catch (err) {
        return { name: err?.name, code: err?.code, message: err?.message };
      }
    }));
    say(outcomes);
  } else if (line === "close") {
    for (const listener of held.splice(0)) listener.close();
    say("closed");
  }
}`;

type Outcome = { won: number } | { name: string; code: string; message: string };

/**
 * What each round starts from: nothing at the path, a stale socket file (an
 * old one, or one just made, which is probed twice), or the last round's
 * winner, closing as the round starts.
 */
type Start = "empty" | "stale" | "stale, just made" | "closing";
const STARTS: readonly Start[] = ["empty", "stale", "stale, just made", "closing"];

/** How the contenders may bind, and what they do with a stale socket. */
interface Mode {
  flags(dir: string, path: string): string[];
  /** `"replace"`: one takes the path; or what the refusal must name, given the directory. */
  stale: "replace" | { mustName(dir: string): string };
}

async function race(mode: Mode): Promise<void> {
  await inTempDir(async (scripts) => {
    const dir = `${scripts}/sockets`;
    await Deno.mkdir(dir);
    const path = `${dir}/contended.sock`;
    const master = `${dir}/master.sock`;
    await leaveStaleSocket(master); // linked onto the path for each stale round
    const children: Child[] = [];
    try {
      for (let id = 0; id < PROCESSES; id++) {
        children.push(await spawnChild(scripts, mode.flags(dir, path), CONTENDER(path, id)));
      }
      for (let round = 0; round < ROUNDS; round++) {
        const start = STARTS[round % STARTS.length];
        const keepWinner = STARTS[(round + 1) % STARTS.length] === "closing";
        await playRound(children, mode, { path, master, start, round, keepWinner });
      }
    } finally {
      await Promise.all(children.map((child) => child.kill()));
    }
    const left = [...Deno.readDirSync(dir)].map((entry) => entry.name);
    assert.deepEqual(left, ["master.sock"], "no listener's file nor private directory is left behind");
  });
}

interface Round {
  path: string;
  /** The stale socket linked onto the path. */
  master: string;
  start: Start;
  round: number;
  /** Leaves the winner listening, for the next round to start from. */
  keepWinner: boolean;
}

async function playRound(children: Child[], mode: Mode, round: Round): Promise<void> {
  const { path, start } = round;
  const context = `round ${round.round} (${start})`;
  if (start === "stale" || start === "stale, just made") {
    await Deno.link(round.master, path);
    const when = start === "stale" ? new Date(Date.now() - 3600_000) : new Date();
    await Deno.utime(path, when, when);
  }
  // Closing, the last winner races the new contenders: each may find it live or gone, never half there.
  const commands = start === "closing" ? ["close", "go"] : ["go"];
  await Promise.all(children.map((child) => child.send(commands.join("\n"))));
  const outcomes: Outcome[] = [];
  for (const child of children) {
    if (start === "closing") assert.equal(await child.next(`${context}: close`), "closed");
    outcomes.push(...JSON.parse(await child.next(`${context}: outcomes`)));
  }
  const winners = outcomes.flatMap((o) => "won" in o ? [o.won] : []);
  const losers = outcomes.filter((o): o is Exclude<Outcome, { won: number }> => !("won" in o));
  for (const loser of losers) {
    assert.equal(loser.name, "AddrInUseError", `${context}: a loser got ${JSON.stringify(loser)}`);
    assert.equal(loser.code, "EADDRINUSE");
  }
  const staleRefused = (start === "stale" || start === "stale, just made") && mode.stale !== "replace";
  if (staleRefused) {
    assert.deepEqual(winners, [], `${context}: nobody may replace a stale socket without the lock`);
    const flag = mode.stale !== "replace" && mode.stale.mustName(dirOf(path));
    for (const loser of losers) {
      assert.ok(flag && loser.message.includes(flag), `${context}: ${loser.message} should name ${flag}`);
    }
    assert.ok((await Deno.lstat(path)).isSocket, "the stale socket is left alone");
    await Deno.remove(path);
  } else if (start === "closing" && winners.length === 0) {
    // Everyone found the old listener still there: fine, as long as nobody won a path it kept.
  } else {
    assert.equal(winners.length, 1, `${context}: exactly one winner, got ${JSON.stringify(outcomes)}`);
    // The winner is the one a client reaches.
    using conn = await within(Deno.connect({ transport: "unix", path }), 5000, `${context}: connect`);
    const byte = new Uint8Array(1);
    assert.equal(await within(conn.read(byte), 5000, `${context}: the winner's answer`), 1);
    assert.equal(byte[0], winners[0], `${context}: the client reached the winner`);
  }
  if (round.keepWinner && winners.length === 1) return;
  await Promise.all(children.map((child) => child.send("close")));
  for (const child of children) assert.equal(await child.next(`${context}: close`), "closed");
  // Bound in place, Deno removes the file when it drops the native listener, a moment after close().
  await within(waitUntilGone(path), 5000, `${context}: the winner's file removed on close`);
}

async function waitUntilGone(path: string): Promise<void> {
  while (await Deno.lstat(path).then(() => true, () => false)) await new Promise((r) => setTimeout(r, 1));
}

Deno.test("listens racing for a unix path, bound privately: one winner, reachable; the others AddrInUseError", async () => {
  await race({
    flags: (dir) => [`--allow-read=${dir}`, `--allow-write=${dir}`, "--allow-net"],
    stale: "replace",
  });
});

Deno.test("listens racing for a unix path, bound in place with --allow-read for its directory: one winner, reachable", async () => {
  await race({
    flags: (dir, path) => [`--allow-read=${dir}`, `--allow-write=${path}`, `--allow-net=unix:${path}`],
    stale: "replace",
  });
});

Deno.test("listens racing for a unix path, bound in place with flags for the path alone: one winner on an empty path; a stale socket is refused to all, naming the flag", async () => {
  await race({
    flags: (_dir, path) => [`--allow-read=${path}`, `--allow-write=${path}`, `--allow-net=unix:${path}`],
    stale: { mustName: (dir) => `--allow-read=${dir}` },
  });
});
