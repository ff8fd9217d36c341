/**
 * secure() throughput against raw WebCrypto AES-GCM, and handshake latency
 * per pattern. Run: deno bench --allow-read bench/crypto_bench.ts
 *
 * Each throughput bench moves the same bytes in the same write size: the
 * baseline seals and opens them with AES-256-GCM directly (one call after
 * another, as a plain loop would); the others send them through a secure
 * conn over pipe(), from write() on one end to read() on the other, framing,
 * queues and all. Sessions are set up outside the measured part.
 */

import { pipe } from "../mod.ts";
import {
  type CipherName,
  generateKeyPair,
  type PatternName,
  secure,
  type SecureOptions,
} from "../crypto/mod.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

const key = await crypto.subtle.importKey("raw", new Uint8Array(32).fill(1), "AES-GCM", false, [
  "encrypt",
  "decrypt",
]);

async function rawAesGcm(total: number, writeSize: number): Promise<void> {
  const data = new Uint8Array(writeSize);
  const iv = new Uint8Array(12);
  for (let n = 0, sent = 0; sent < total; n++, sent += writeSize) {
    new DataView(iv.buffer).setUint32(8, n);
    const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, data);
    await crypto.subtle.decrypt({ name: "AES-GCM", iv }, key, sealed);
  }
}

async function securePair(options: Omit<SecureOptions, "role"> = {}) {
  const [a, b] = pipe();
  return await Promise.all([
    secure(a, { ...options, role: "initiator" }),
    secure(b, { ...options, role: "responder" }),
  ]);
}

function throughput(total: number, writeSize: number) {
  const group = `crypto: ${writeSize / KiB} KiB writes`;
  const work = `${total / writeSize} × ${writeSize} B`;
  Deno.bench(`raw AES-GCM encrypt+decrypt, ${work}`, { group, baseline: true }, async () => {
    await rawAesGcm(total, writeSize);
  });
  for (const cipher of ["AESGCM", "ChaChaPoly"] as CipherName[]) {
    Deno.bench(`secure(pipe()) ${cipher} write to read, ${work}`, { group }, async (b) => {
      const [client, server] = await securePair({ cipher });
      const data = new Uint8Array(writeSize);
      const buf = new Uint8Array(64 * KiB);
      b.start();
      const sending = (async () => {
        for (let sent = 0; sent < total; sent += writeSize) await client.write(data);
        await client.closeWrite();
      })();
      let received = 0;
      for (let n; (n = await server.read(buf)) !== null;) received += n;
      await sending;
      b.end();
      if (received !== total) throw new Error(`received ${received} of ${total}`);
      client.close();
      server.close();
      await Promise.all([client.closed, server.closed]);
    });
  }
}

throughput(16 * MiB, 64 * KiB);
throughput(2 * MiB, 1 * KiB);

const [si, sr] = await Promise.all([generateKeyPair(), generateKeyPair()]);
const psk = new Uint8Array(32).fill(2);
const handshakes: [PatternName, Omit<SecureOptions, "role">, Omit<SecureOptions, "role">][] = [
  ["NN", {}, {}],
  ["NNpsk0", { psk }, { psk }],
  ["XX", { staticKeyPair: si }, { staticKeyPair: sr }],
  ["IK", { staticKeyPair: si, remoteStaticKey: sr.publicKey }, { staticKeyPair: sr }],
  ["KK", { staticKeyPair: si, remoteStaticKey: sr.publicKey }, {
    staticKeyPair: sr,
    remoteStaticKey: si.publicKey,
  }],
];
for (const [pattern, i, r] of handshakes) {
  Deno.bench(
    `handshake ${pattern}`,
    { group: "crypto: handshake latency", baseline: pattern === "NN" },
    async () => {
      const [a, b] = pipe();
      const [x, y] = await Promise.all([
        secure(a, { ...i, pattern, role: "initiator" }),
        secure(b, { ...r, pattern, role: "responder" }),
      ]);
      x.close();
      y.close();
      await Promise.all([x.closed, y.closed]);
    },
  );
}
