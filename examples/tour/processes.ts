import { connect } from "../../mod.ts";
import { encoder, readLine, type TourPart } from "./_part.ts";

const PEER = new URL("../unix_peer.ts", import.meta.url).pathname;

export const processes: TourPart = {
  title: "a second Deno process over a Unix socket",
  expect: [/socket file mode 600; the peer answered "HELLO FROM PID \d+"/, /the peer exited with code 0/],
  async run(say) {
    const dir = await Deno.makeTempDir();
    const path = `${dir}/tour.sock`;
    const peer = new Deno.Command(Deno.execPath(), {
      args: ["run", `--allow-read=${dir}`, `--allow-write=${dir}`, `--allow-net=unix:${path}`, PEER, path],
      stdout: "piped",
    }).spawn();
    const ready = peer.stdout.getReader();
    await ready.read(); // "ready": the socket file exists, mode 0o600
    ready.releaseLock();
    await peer.stdout.cancel();
    const mode = ((await Deno.stat(path)).mode! & 0o777).toString(8);
    {
      await using conn = await connect({ transport: "unix", path, signal: AbortSignal.timeout(5000) });
      await conn.write(encoder.encode("hello from pid " + Deno.pid + "\n"));
      await conn.closeWrite();
      say(`socket file mode ${mode}; the peer answered "${await readLine(conn)}"`);
    }
    say(`the peer exited with code ${(await peer.status).code}`);
    await Deno.remove(dir, { recursive: true });
  },
};
