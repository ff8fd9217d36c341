import { type Dialer, listen } from "../../mod.ts";
import { encoder, readLine, type TourPart } from "./_part.ts";

/** The code under test: asks a service for the time, given a way to dial it. */
async function askTime(dialer: Dialer): Promise<string> {
  await using conn = await dialer.dial({ signal: AbortSignal.timeout(1000) });
  await conn.write(encoder.encode("time?\n"));
  return await readLine(conn);
}

export const fixture: TourPart = {
  title: "a private listener + its dialer as a test fixture",
  expect: [/answered: 12:00/],
  async run(say) {
    await using fixture = listen({ transport: "memory" });
    const fake = (async () => {
      await using conn = await fixture.accept();
      await readLine(conn);
      await conn.write(encoder.encode("12:00\n"));
    })();
    say(`${fixture.addr.address} answered: ${await askTime(fixture.dialer())}`);
    await fake;
  },
};
