import assert from "node:assert/strict";
import { ConnClosedError, pipe } from "../mod.ts";
import {
  ChannelError,
  ChannelRefusedError,
  Exporter,
  Importer,
  jsonCodec,
  UndeliveredError,
} from "../netchan/mod.ts";
import { collect, endpoints, nextErrors, pending, transports, within } from "./netchan_helpers.ts";

const sample = {
  id: 1,
  name: "ada",
  bytes: new Uint8Array([0, 1, 255]),
  at: new Date(1_700_000_000_123),
  tags: new Set(["a", "b"]),
  index: new Map<unknown, unknown>([["k", 1], [2, "two"]]),
  big: 2n ** 80n,
  small: -5n,
  nothing: undefined,
  nested: [null, true, 1.5, { deep: [undefined] }],
};

for (const transport of transports) {
  const over = ` over ${transport.name}`;

  Deno.test(`a recv channel delivers values in order, with every default-codec type intact${over}`, async () => {
    const ends = await endpoints(transport);
    const writer = ends.exp.export<typeof sample>("values", "recv").getWriter();
    const reader = ends.imp.import<typeof sample>("values", "recv").getReader();
    for (let i = 0; i < 50; i++) await writer.write({ ...sample, id: i });
    for (let i = 0; i < 50; i++) {
      const { value } = await within(reader.read());
      assert.deepEqual(value, { ...sample, id: i });
      assert.equal(Object.getPrototypeOf(value!.bytes), Uint8Array.prototype);
    }
    await writer.close();
    assert.deepEqual(
      await within(reader.read()),
      { value: undefined, done: true },
      "ends after the writer closes",
    );
    await ends.close();
  });

  Deno.test(`a send channel carries every importer's values to the exporter's stream${over}`, async () => {
    const ends = await endpoints(transport);
    const inbox = ends.exp.export<string>("inbox", "send").getReader();
    const one = ends.imp.import<string>("inbox", "send").getWriter();
    const two = ends.imp.import<string>("inbox", "send").getWriter();
    await Promise.all([one.write("a1"), two.write("b1"), one.write("a2"), two.write("b2")]);
    const got: string[] = [];
    for (let i = 0; i < 4; i++) got.push((await within(inbox.read())).value!);
    assert.deepEqual(got.filter((v) => v.startsWith("a")), ["a1", "a2"], "each importer's values in order");
    assert.deepEqual(got.toSorted(), ["a1", "a2", "b1", "b2"]);
    await within(ends.imp.drain({ signal: AbortSignal.timeout(5000) }));
    await ends.close();
  });

  Deno.test(`importing a name nobody exports rejects with ChannelRefusedError naming it${over}`, async () => {
    const ends = await endpoints(transport);
    ends.exp.export("real", "recv");
    const err = await within(ends.imp.import("jobz", "recv").getReader().read()).catch((e) => e);
    assert.ok(err instanceof ChannelRefusedError, String(err));
    assert.equal(err.reason, "unknown channel");
    assert.equal(err.code, "ENOCHANNEL");
    assert.equal(err.channel, "jobz");
    assert.match(err.message, /"jobz"/);
    const writeErr = await within(ends.imp.import("jobz", "send").getWriter().write(1)).catch((e) => e);
    assert.ok(writeErr instanceof ChannelRefusedError, String(writeErr));
    await ends.close();
  });

  Deno.test(`a wrong direction or another codec is refused with a reason${over}`, async () => {
    const ends = await endpoints(transport);
    ends.exp.export("out", "recv");
    const err = await within(ends.imp.import("out", "send").getWriter().write(1)).catch((e) => e);
    assert.ok(err instanceof ChannelRefusedError);
    assert.equal(err.reason, "wrong direction");
    assert.match(err.message, /exported for importers to receive from/);
    const [a, b] = await transport.pair();
    const served = ends.exp.serveConn(a);
    await using other = new Importer(b, { codec: jsonCodec });
    const codecErr = await within(other.import("out", "recv").getReader().read()).catch((e) => e);
    assert.ok(codecErr instanceof ChannelRefusedError);
    assert.equal(codecErr.reason, "codec mismatch");
    assert.match(codecErr.message, /"msgpackr".*"json"/);
    other.close();
    await served;
    await ends.close();
  });

  Deno.test(`count ends the stream after n values and leaves the rest for other importers${over}`, async () => {
    const ends = await endpoints(transport);
    const writer = ends.exp.export<number>("jobs", "recv").getWriter();
    const first = ends.imp.import<number>("jobs", "recv", { count: 3, bufferSize: 10 });
    for (let i = 0; i < 3; i++) await writer.write(i);
    const writing = (async () => {
      for (let i = 3; i < 10; i++) await writer.write(i);
    })();
    assert.deepEqual(await within(collect(first)), [0, 1, 2]);
    // Nothing beyond the count was sent to the first importer: the rest is
    // still with the exporter, and all of it goes to the next one.
    const second = ends.imp.import<number>("jobs", "recv", { count: 7 });
    assert.deepEqual(await within(collect(second)), [3, 4, 5, 6, 7, 8, 9]);
    await writing;
    await within(ends.exp.drain());
    await ends.close();
  });

  Deno.test(`an exporter never sends more than bufferSize ahead of a reader; the writer waits${over}`, async () => {
    const ends = await endpoints(transport);
    const writer = ends.exp.export<number>("slow", "recv", { bufferSize: 1 }).getWriter();
    const reader = ends.imp.import<number>("slow", "recv", { bufferSize: 4 }).getReader();
    let written = 0;
    const writing = (async () => {
      for (let i = 0; i < 100; i++) {
        await writer.ready;
        await writer.write(i);
        written++;
      }
    })();
    // 4 granted to the importer, 1 waiting for credit inside the exporter: wait
    // (however slow the machine) until the window is used, then give the
    // writer time to run past it, which it must not.
    for (const deadline = Date.now() + 10_000; written < 4 && Date.now() < deadline;) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(written >= 4, `only ${written} writes resolved in 10 s with a window of 4`);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(written <= 5, `${written} writes resolved with a window of 4`);
    for (let i = 0; i < 100; i++) assert.equal((await within(reader.read())).value, i);
    await within(writing);
    await ends.close();
  });

  Deno.test(`drain waits for acknowledgements of every written value, sync for those already sent${over}`, async () => {
    const ends = await endpoints(transport);
    const writer = ends.exp.export<number>("acks", "recv").getWriter();
    const reader = ends.imp.import<number>("acks", "recv", { bufferSize: 2 }).getReader();
    const writes = [0, 1, 2, 3, 4].map((i) => writer.write(i)); // 2 go out, 3 wait for credit
    await within(Promise.all(writes.slice(0, 2)), 5000, "the first two writes");
    const drained = ends.exp.drain();
    const synced = ends.exp.sync();
    assert.ok(await pending(synced), "sync waits for the two values sent");
    assert.equal((await reader.read()).value, 0);
    assert.equal((await reader.read()).value, 1);
    await within(synced, 5000, "sync");
    assert.ok(await pending(drained), "drain still waits for the three queued");
    for (let i = 2; i < 5; i++) assert.equal((await within(reader.read())).value, i);
    await within(drained, 5000, "drain");
    const aborted = await ends.exp.drain({ signal: AbortSignal.abort(new Error("stop")) }).catch((e) => e);
    assert.equal(aborted.message, "stop");
    await ends.close();
  });

  Deno.test(`the exporter's hangup ends readers cleanly and rejects writers with ConnClosedError${over}`, async () => {
    const ends = await endpoints(transport);
    const writer = ends.exp.export<number>("h", "recv").getWriter();
    const inbox = ends.exp.export<number>("s", "send");
    const reader = ends.imp.import<number>("h", "recv").getReader();
    const sender = ends.imp.import<number>("s", "send").getWriter();
    await writer.write(1);
    await sender.write(1);
    assert.equal((await within(reader.read())).value, 1);
    assert.equal(ends.exp.hangup("h"), true);
    assert.equal(ends.exp.hangup("s"), true);
    assert.equal(ends.exp.hangup("s"), false, "hangup of a name not exported");
    assert.deepEqual(await within(reader.read()), { value: undefined, done: true });
    const err = await writer.write(2).catch((e) => e);
    assert.ok(err instanceof ConnClosedError, String(err));
    assert.match(err.message, /"h" was hung up by the exporter/);
    assert.deepEqual(await within(collect(inbox)), [], "the exporter's own reader finishes");
    const sendErr = await within(
      (async () => {
        for (;;) await sender.write(2);
      })().catch((e) => e),
    );
    assert.ok(sendErr instanceof ConnClosedError, String(sendErr));
    ends.exp.export<number>("h", "recv"); // the name is free again
    await ends.close();
  });

  Deno.test(`the importer's hangup ends its streams, and the exporter's channel lives on${over}`, async () => {
    const ends = await endpoints(transport);
    const writer = ends.exp.export<number>("h", "recv").getWriter();
    ends.exp.export<number>("s", "send");
    const reader = ends.imp.import<number>("h", "recv").getReader();
    const sender = ends.imp.import<number>("s", "send").getWriter();
    await writer.write(1);
    assert.equal((await within(reader.read())).value, 1);
    assert.equal(ends.imp.hangup("h"), true);
    assert.equal(ends.imp.hangup("s"), true);
    assert.deepEqual(await within(reader.read()), { value: undefined, done: true });
    assert.ok((await sender.write(1).catch((e) => e)) instanceof ConnClosedError);
    // The exporter's channel still serves a new import.
    const again = ends.imp.import<number>("h", "recv").getReader();
    await writer.write(2);
    assert.equal((await within(again.read())).value, 2);
    await ends.close();
  });

  Deno.test(`values an importer dropped unread go to another importer, never twice${over}`, async () => {
    const ends = await endpoints(transport);
    const writer = ends.exp.export<number>("work", "recv").getWriter();
    const greedy = ends.imp.import<number>("work", "recv", { bufferSize: 8 });
    for (let i = 0; i < 8; i++) await writer.write(i);
    const reader = greedy.getReader();
    assert.equal((await within(reader.read())).value, 0);
    await reader.cancel(); // 1..7 arrived but were never read
    const other = ends.imp.import<number>("work", "recv", { count: 7 });
    assert.deepEqual(await within(collect(other)), [1, 2, 3, 4, 5, 6, 7]);
    await within(ends.exp.drain());
    await ends.close();
  });

  Deno.test(`fan-out: each value goes to exactly one importer with credit, none beyond it${over}`, async () => {
    const ends = await endpoints(transport);
    const writer = ends.exp.export<number>("fan", "recv").getWriter();
    // Nobody reads until all is written: each importer's credit (10) bounds what it may get.
    const imports = [0, 1, 2].map(() => ends.imp.import<number>("fan", "recv", { bufferSize: 10 }));
    for (let i = 0; i < 30; i++) await within(writer.write(i));
    await writer.close();
    const got = await within(Promise.all(imports.map(collect)));
    assert.deepEqual(got.flat().toSorted((x, y) => x - y), Array.from({ length: 30 }, (_, i) => i));
    for (const values of got) {
      assert.deepEqual(values, values.toSorted((x, y) => x - y), "each importer sees its values in order");
      assert.equal(values.length, 10, "no importer got more than its credit");
    }
    await ends.close();
  });

  Deno.test(`errors is bounded: unread errors beyond maxErrors drop the oldest${over}`, async () => {
    const ends = await endpoints(transport, { importer: { maxErrors: 3 } });
    ends.exp.export("real", "recv");
    const refused = Array.from({ length: 5 }, (_, i) => ends.imp.import(`missing-${i}`, "recv").getReader());
    for (const r of refused) await within(r.read()).catch(() => {});
    assert.equal(ends.imp.droppedErrors, 2);
    const errors = await nextErrors(ends.imp.errors, 3);
    assert.deepEqual(errors.map((e) => (e as ChannelError).channel), ["missing-2", "missing-3", "missing-4"]);
    await ends.close();
  });

  Deno.test(`a vanished exporter errors readers with ConnClosedError and reports values in flight${over}`, async () => {
    const [a, b] = await transport.pair();
    const exp = new Exporter();
    const served = exp.serveConn(a);
    const writer = exp.export<number>("v", "recv").getWriter();
    const imp = new Importer(b);
    const reader = imp.import<number>("v", "recv", { bufferSize: 4 }).getReader();
    const sender = imp.import<number>("s", "send", { bufferSize: 4 }).getWriter();
    exp.export<number>("s", "send"); // nobody reads it: the importer's values stay in flight
    await writer.write(1);
    assert.equal((await within(reader.read())).value, 1);
    for (let i = 0; i < 3; i++) await sender.write(i);
    await new Promise((r) => setTimeout(r, 50));
    a.close(); // the exporter's conn goes away under it
    const err = await within(reader.read()).catch((e) => e);
    assert.ok(err instanceof ConnClosedError, String(err));
    const writeErr = await within(sender.write(9)).catch((e) => e);
    assert.ok(writeErr instanceof ConnClosedError, String(writeErr));
    const reported = (await nextErrors(imp.errors, 4)).find((e) => e instanceof UndeliveredError);
    assert.ok(reported instanceof UndeliveredError, "the values in flight are reported");
    assert.deepEqual(reported.values, [0, 1, 2]);
    assert.equal(reported.certain, false);
    imp.close();
    exp.close();
    await served;
  });

  Deno.test(`a vanished importer's values in flight are reported, and the rest go to the next${over}`, async () => {
    const [a, b] = await transport.pair();
    const [c, d] = await transport.pair();
    const exp = new Exporter();
    const served = [exp.serveConn(a), exp.serveConn(c)];
    const writer = exp.export<number>("v", "recv").getWriter();
    const doomed = new Importer(b);
    const reader = doomed.import<number>("v", "recv", { bufferSize: 3 }).getReader();
    const writing = (async () => {
      for (let i = 0; i < 10; i++) await writer.write(i);
    })();
    assert.equal((await within(reader.read())).value, 0);
    await new Promise((r) => setTimeout(r, 50));
    b.close(); // the importer vanishes with 1..3 in flight
    const errors = exp.errors.getReader();
    const lost = await within(errors.read());
    const undelivered = [lost.value, (await within(errors.read())).value].find((e) =>
      e instanceof UndeliveredError
    );
    assert.ok(undelivered instanceof UndeliveredError, "in-flight values reported");
    assert.equal(undelivered.certain, false);
    assert.ok(undelivered.values.length >= 1 && undelivered.values.length <= 3, String(undelivered.values));
    errors.releaseLock();
    await using next = new Importer(d);
    const rest = await within(
      collect(next.import<number>("v", "recv", { count: 10 - 1 - undelivered.values.length })),
    );
    // At most once: nothing reported lost comes again, and nothing is missing.
    assert.deepEqual([0, ...undelivered.values, ...rest], Array.from({ length: 10 }, (_, i) => i));
    await writing;
    exp.close();
    await Promise.all(served);
  });
}

Deno.test("bad arguments are TypeErrors and RangeErrors that say what was expected", async () => {
  await using exp = new Exporter();
  assert.throws(() => exp.export("", "recv"), RangeError);
  assert.throws(() => exp.export("x", "both" as "recv"), /direction must be "recv" or "send"/);
  exp.export("x", "recv");
  assert.throws(() => exp.export("x", "send"), /already exported/);
  assert.throws(() => new Exporter({ maxMessageSize: 10 }), RangeError);
  assert.throws(() => new Exporter({ codec: {} as never }), TypeError);
  const [a] = (await import("../mod.ts")).pipe();
  await using imp = new Importer(a);
  assert.throws(() => imp.import("x", "recv", { count: 0 }), RangeError);
  assert.throws(() => imp.import("x", "recv", { bufferSize: 1.5 }), TypeError);
  assert.throws(() => imp.import("x", "send", { count: 1 }), /apply to "recv" imports/);
  assert.throws(() => imp.import("x", "recv", { schema: {} as never }), /Standard Schema/);
  await assert.rejects(imp.drain({ signal: "soon" as never }), TypeError);
});

Deno.test("a conn that sends garbage before any channel shows on the exporter's errors, and the exporter serves on", async () => {
  const exp = new Exporter();
  const [a, b] = pipe();
  const served = exp.serveConn(a);
  await b.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  const reader = exp.errors.getReader();
  const { value: err } = await reader.read();
  assert.ok(err instanceof ChannelError, String(err));
  assert.equal(err.channel, "");
  assert.equal(err.code, "EPROTO");
  assert.match(err.message, /before any channel: protocol error/);
  await served;
  b.close();
  // A conn that merely goes away before any channel is no error; a good importer still works.
  const [c, d] = pipe();
  const quiet = exp.serveConn(c);
  d.close();
  await quiet;
  const inbox = exp.export<number>("jobs", "send").getReader();
  const [e, f] = pipe();
  exp.serveConn(e);
  const imp = new Importer(f);
  const jobs = imp.import<number>("jobs", "send").getWriter();
  await jobs.write(7);
  assert.equal((await inbox.read()).value, 7);
  imp.close();
  exp.close();
  assert.equal((await reader.read()).done, true, "nothing else was reported");
});
