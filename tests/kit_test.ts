import assert from "node:assert/strict";
import { listen, pipe } from "../mod.ts";
import {
  type CheckResult,
  connChecks,
  listenerChecks,
  runConnChecks,
  runListenerChecks,
  testConn,
  type TestContext,
} from "../testing/mod.ts";
import {
  bareAcceptReasons,
  connectWaitsForAccept,
  corrupting,
  deafReads,
  defectivePair,
  lyingWrites,
  slowThenFast,
  unbounded,
} from "./kit_helpers.ts";

const privateListener = () => {
  const listener = listen({ transport: "memory" });
  return { listener, dialer: listener.dialer() };
};

/** The one result that ran. */
function ran(results: CheckResult[]): CheckResult {
  const run = results.filter((r) => r.outcome !== "skipped");
  assert.equal(run.length, 1, `expected one check to run, got ${run.map((r) => r.id)}`);
  return run[0];
}

function failures(results: CheckResult[]): Record<string, string> {
  return Object.fromEntries(
    results.filter((r) => r.outcome === "failed").map((r) => [r.id, r.error?.message ?? ""]),
  );
}

/** Runs `deno run` or `deno test` on a fixture of this folder, returning its exit code and output. */
async function runFixture(command: "run" | "test", fixture: string) {
  const path = new URL(`./fixtures/${fixture}`, import.meta.url).pathname;
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [command, "--no-check", path],
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

const unboundedFailures = ["writeTimeout", "abortWaitingWrite", "closePending"];

Deno.test("every conn check passes on a conn whose transport is a name of its own", async () => {
  const addr = { transport: "websocket", address: "wss://example.test/socket" };
  const results = await runConnChecks(() => defectivePair(() => ({ localAddr: addr, remoteAddr: addr })));
  assert.deepEqual(failures(results), {});
  assert.equal(results.length, connChecks.length);
});

Deno.test("a failing check names itself and its step, and says what it expected and what it got", async () => {
  const result = ran(await runConnChecks(() => defectivePair(corrupting), { only: ["basicIO"] }));
  assert.equal(result.outcome, "failed");
  assert.equal(result.step, "send 1 MiB each way while both ends read");
  assert.match(
    result.error!.message,
    /^basicIO failed in step "send 1 MiB each way while both ends read": the received stream, byte \d+ of the stream: expected \d+, got \d+$/,
  );
  assert.equal((result.error!.cause as Error).name, "AssertionError");
});

Deno.test("a check that hangs fails at the step timeout, naming the step it was in", async () => {
  const result = ran(
    await runConnChecks(() => defectivePair(deafReads), { only: ["pingPong"], stepTimeout: 300 }),
  );
  assert.equal(result.outcome, "failed");
  assert.match(
    result.error!.message,
    /^pingPong failed in step "round trip 1 of 500": still running after 300 ms/,
  );
});

Deno.test("checks that fail part-way leave no unhandled rejection, and every other check still runs and passes", async () => {
  const unhandled: string[] = [];
  const onUnhandled = (event: PromiseRejectionEvent) => {
    unhandled.push(String(event.reason));
    event.preventDefault();
  };
  globalThis.addEventListener("unhandledrejection", onUnhandled);
  let results: CheckResult[];
  try {
    results = await runConnChecks(() => defectivePair(unbounded));
    await new Promise((resolve) => setTimeout(resolve, 50)); // let any stray rejection surface
  } finally {
    globalThis.removeEventListener("unhandledrejection", onUnhandled);
  }
  assert.deepEqual(unhandled, []);
  assert.deepEqual(Object.keys(failures(results)), unboundedFailures);
  for (const message of Object.values(failures(results))) assert.match(message, /backpressure|wait/);
  assert.equal(
    results.filter((r) => r.outcome === "passed").length,
    connChecks.length - unboundedFailures.length,
  );
});

Deno.test("under Deno.test, a failing check fails its own step only: no uncaught error, no cancelled step", async () => {
  const { code, stdout, stderr } = await runFixture("test", "kit_unbounded_conn.ts");
  const output = stdout + stderr;
  assert.notEqual(code, 0, output);
  const steps = [...output.matchAll(/^ {2}(\w+): .* \.\.\. (ok|FAILED)/gm)].map((m) => [m[1], m[2]]);
  assert.deepEqual(
    steps,
    connChecks.map((c) => [c.id, unboundedFailures.includes(c.id) ? "FAILED" : "ok"]),
    output,
  );
  assert.doesNotMatch(output, /cancel|uncaught|Promise resolution is still pending/i);
  assert.match(
    output,
    /abortWaitingWrite failed in step "attempt 1: write, nobody reading, until a write waits 20 ms"/,
  );
});

Deno.test("skip and only take check ids; one that names no check is an error before any check runs", async () => {
  await assert.rejects(
    runConnChecks(() => pipe(), { skip: ["basicIo"] }),
    (err: Error) =>
      err instanceof RangeError &&
      /^skip names no check: "basicIo"; the checks are basicIO, pingPong, /.test(err.message),
  );
  await assert.rejects(runListenerChecks(privateListener, { only: ["nope"] }), RangeError);
  const steps: [string, boolean | undefined][] = [];
  const t: TestContext = {
    async step(definition) {
      steps.push([definition.name, definition.ignore]);
      if (!definition.ignore) await definition.fn();
      return true;
    },
  };
  const oldName = "basic I/O: 1 MiB each way in random chunk sizes";
  await assert.rejects(testConn(t, () => pipe(), { skip: [oldName] }), RangeError);
  assert.deepEqual(steps, []);

  await testConn(t, () => pipe(), { only: ["zeroLength"] });
  assert.deepEqual(steps, connChecks.map((c) => [`${c.id}: ${c.title}`, c.id !== "zeroLength"]));
  const results = await runConnChecks(() => pipe(), {
    only: ["zeroLength", "addresses"],
    skip: ["addresses"],
  });
  assert.deepEqual(
    results.map((r) => [r.id, r.outcome]),
    connChecks.map((c) => [c.id, c.id === "zeroLength" ? "passed" : "skipped"]),
  );
});

Deno.test("check ids are unique, and docs/testing.md describes every one", async () => {
  const docs = await Deno.readTextFile(new URL("../docs/testing.md", import.meta.url));
  for (const checks of [connChecks, listenerChecks]) {
    const ids = checks.map((c) => c.id);
    assert.equal(new Set(ids).size, ids.length, `duplicate ids in ${ids}`);
    for (const id of ids) {
      assert.match(docs, new RegExp(`^\\| \`${id}\` +\\|`, "m"), `docs/testing.md has no row for ${id}`);
    }
  }
});

Deno.test("abortWaitingWrite accepts a write that went through before its abort, and fills further until one waits", async () => {
  const writers: ReturnType<typeof slowThenFast>[] = [];
  const make = () => {
    const defect = slowThenFast();
    writers.push(defect);
    return defect;
  };
  const result = ran(
    await runConnChecks(() => defectivePair(make, { bufferSize: 1024 * 1024 }), {
      only: ["abortWaitingWrite"],
    }),
  );
  assert.equal(result.outcome, "passed", result.error?.message);
  assert.equal(writers[0].signalled, 2, "a second attempt after the write that got through");
});

Deno.test("closePending fails on a conn whose pending writes resolve on close", async () => {
  const result = ran(await runConnChecks(() => defectivePair(lyingWrites), { only: ["closePending"] }));
  assert.equal(result.outcome, "failed");
  assert.match(
    result.error!.message,
    /^closePending failed in step "close with the read and the writes pending": the pending writes: expected to reject, got all completed$/,
  );
});

Deno.test("connectThenAccept fails, naming its step, on a listener whose connect waits for accept", async () => {
  const result = ran(
    await runListenerChecks(connectWaitsForAccept, {
      only: ["connectThenAccept"],
      stepTimeout: 300,
    }),
  );
  assert.equal(result.outcome, "failed");
  assert.match(
    result.error!.message,
    /^connectThenAccept failed in step "await the connect, before any accept": still running after 300 ms/,
  );
});

Deno.test("acceptSignal fails on a listener whose timed-out accept rejects with the bare reason", async () => {
  const result = ran(await runListenerChecks(bareAcceptReasons, { only: ["acceptSignal"] }));
  assert.equal(result.outcome, "failed");
  assert.match(
    result.error!.message,
    /^acceptSignal failed in step "accept with a 50 ms deadline, nobody connecting": an accept past its deadline: expected to reject with a ConnError naming the accept and "private-\d+", with timeout true and the signal's reason as its cause, got TimeoutError: /,
  );
});

Deno.test("the runners need no Deno global: every check passes on memory conns and listeners without one", async () => {
  const { code, stdout, stderr } = await runFixture("run", "kit_without_deno.ts");
  assert.equal(code, 0, stderr);
  const rows: [string, string, string | null][] = JSON.parse(stdout);
  assert.deepEqual(
    rows.filter(([, outcome]) => outcome !== "passed"),
    [],
  );
  assert.deepEqual(rows.map(([id]) => id), [...connChecks, ...listenerChecks].map((c) => c.id));
});

Deno.test("a maker that fails or makes the wrong thing fails each check in the step that makes its subject", async () => {
  const broken = await runConnChecks(() => Promise.reject(new Error("no route to the peer")), {
    only: ["basicIO"],
  });
  assert.equal(ran(broken).error?.message, 'basicIO failed in step "make the pair": no route to the peer');
  const wrong = await runConnChecks(() => pipe()[0] as unknown as ReturnType<typeof pipe>, {
    only: ["halfClose"],
  });
  assert.match(
    ran(wrong).error!.message,
    /^halfClose failed in step "make the pair": makePair\(\): expected a pair of conns, \[a, b\], got /,
  );
  const noDialer = await runListenerChecks(() => ({ listener: listen({ transport: "memory" }) }) as never, {
    only: ["iterate"],
  });
  assert.match(
    ran(noDialer).error!.message,
    /^iterate failed in step "make the listener": makeListener\(\): expected \{ listener, dialer \}, got /,
  );
});
