/**
 * One conn of the client's pool: it writes request heads (serialising, not
 * parsing) and reads answers through Node's own llhttp parser, the
 * `HTTPParser` of `node:_http_common` that `node:http`'s client runs on.
 * Going to the parser directly skips the `ClientRequest`, `Agent` and
 * `Socket` machinery, which cost more than the rest of a small request put
 * together. Private to `http/`.
 *
 * @module
 */

import { HTTPParser as NodeParser } from "node:_http_common";
import type { Conn } from "../conn.ts";
import { ConnClosedError, ProtocolError } from "../errors.ts";
import { noop, onAbort } from "../_async/waiter.ts";
import { fromNodeError } from "../node/_errors.ts";
import { BODY_WINDOW, checkChunk, joined, type Sniffed } from "./_body.ts";
import { headerOf } from "./_outgoing.ts";

/** The read size: a socket's. */
const READ_SIZE = 64 * 1024;
/** A whole body up to this size goes out in the same write as the head. */
const WITH_HEAD = 16 * 1024;

/** What the client sends: the head's parts and the body. */
export interface Sent {
  url: URL;
  method: string;
  /** Flat name/value pairs, checked by `Headers` already, framing headers included. */
  headers: string[];
  body: Sniffed;
  signal: AbortSignal | undefined;
}

/** An answer's head, and its body: bytes when all of it came with the head, a stream otherwise. */
export interface Answer {
  status: number;
  statusText: string;
  /** Raw name/value pairs, as they came. */
  headers: string[];
  body: Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array>;
}

/** The parser's shape, as far as the client uses it. */
interface Parser {
  initialize(type: number, resource: object, maxHeaderSize?: number, lenient?: number): void;
  execute(data: Uint8Array): number | Error;
  finish(): number | Error | undefined;
  close(): void;
  [key: number]: unknown;
}
const P = NodeParser as unknown as {
  new (): Parser;
  RESPONSE: number;
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
  kLenientNone: number;
};

/** One request on a conn, from its head going out to its body's last byte coming in. */
interface Exchange {
  sent: Sent;
  /**
   * `sending`: no answer yet; `head`: its head is in, not handed over yet;
   * `streaming`: handed over with its body still coming; `complete`: all of
   * it is in, not handed over yet; `done`: all in and handed over; `failed`.
   * (`head` and `complete` last only as long as the read that parsed them.)
   */
  state: "sending" | "head" | "streaming" | "complete" | "done" | "failed";
  /** Whether all of the request has been written. */
  written: boolean;
  /** Whether the conn came from the pool (it may have been closed by the server meanwhile). */
  reused: boolean;
  resolve(answer: Answer): void;
  reject(err: unknown): void;
  status: number;
  statusText: string;
  headers: string[];
  /** Body bytes parsed before the answer was handed over. */
  chunks: Uint8Array[];
  controller: ReadableStreamDefaultController<Uint8Array> | null;
  keepAlive: boolean;
  detach: () => void;
}

/** The error of a request body's own stream, told apart from the conn's. */
class SourceError extends Error {
  constructor(override readonly cause: unknown) {
    super("the request body failed", { cause });
  }
}

/** A request met a pooled conn the server had closed, and may be sent again. */
export const RETRY = Symbol("retry");

const encoder = new TextEncoder();
const CRLF = encoder.encode("\r\n");
const LAST_CHUNK = encoder.encode("0\r\n\r\n");
const NOT_ASCII = /[\u0080-\uffff]/;

/** The TypeError `fetch` rejects with when a request could not be sent or answered. */
export function failure(url: URL, cause: Error): TypeError {
  return new TypeError(`error sending request for ${url.href}: ${cause.message}`, { cause });
}

/** What a {@linkcode ClientConn} tells its pool. */
export interface ConnOwner {
  /** The conn is free for the next request. */
  release(conn: ClientConn): void;
  /** The conn closed. */
  drop(conn: ClientConn): void;
}

/** One conn of the pool: one exchange at a time, read through one parser. */
export class ClientConn {
  #conn: Conn;
  #pool: ConnOwner;
  #parser: Parser;
  #exchange: Exchange | null = null;
  /**
   * What the parser reads for the exchange in flight: `nothing` yet (no
   * byte came), its `answer`, an `interim` one (100 Continue...), or
   * `unrequested` bytes after a whole answer (a second one): then the conn
   * is not used again.
   */
  #reading: "nothing" | "answer" | "interim" | "unrequested" = "nothing";
  #state: "open" | "closed" = "open";
  /** Wakes the read loop once a response body's reader wants more. */
  #wake: (() => void) | null = null;
  #buffer = new Uint8Array(READ_SIZE);
  /** Header pairs the parser handed over before the head was complete (a head with many headers). */
  #early: string[] = [];

  constructor(conn: Conn, pool: ConnOwner) {
    this.#conn = conn;
    this.#pool = pool;
    const parser = this.#parser = new P();
    parser.initialize(P.RESPONSE, {}, 0, P.kLenientNone);
    parser[P.kOnHeaders] = (headers: string[]) => {
      for (const part of headers) this.#early.push(part);
    };
    parser[P.kOnHeadersComplete] = (
      _major: number,
      _minor: number,
      headers: string[] | undefined,
      _method: unknown,
      _url: unknown,
      status: number,
      statusText: string,
      upgrade: boolean,
      keepAlive: boolean,
    ) => this.#onHead(headers, status, statusText, upgrade, keepAlive);
    parser[P.kOnBody] = (chunk: Uint8Array) => this.#onBody(chunk);
    parser[P.kOnMessageComplete] = () => this.#onComplete();
    void this.#read();
  }

  /** Writes the request and resolves with the answer once its head is in. */
  send(sent: Sent, reused: boolean): Promise<Answer> {
    return new Promise<Answer>((resolve, reject) => {
      const exchange: Exchange = {
        sent,
        state: "sending",
        written: false,
        reused,
        resolve,
        reject,
        status: 0,
        statusText: "",
        headers: [],
        chunks: [],
        controller: null,
        keepAlive: true,
        detach: noop,
      };
      this.#exchange = exchange;
      this.#reading = "nothing";
      const { signal } = sent;
      if (signal !== undefined) {
        exchange.detach = onAbort(signal, () => this.#fail(exchange, signal.reason));
      }
      this.#write(exchange).catch((err) => {
        // Answered in full before the request was all out (an early 413, say): the conn is spent.
        if (done(exchange)) this.close();
        else this.#fail(exchange, err);
      });
    });
  }

  async #write(exchange: Exchange): Promise<void> {
    const { url, method, headers, body } = exchange.sent;
    let head = `${method} ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n`;
    for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
    const chunked = body.kind === "stream" && headerOf(headers, "content-length") === undefined;
    if (chunked) head += "transfer-encoding: chunked\r\n";
    head += "\r\n";
    const headBytes = latin1(head);
    const conn = this.#conn;
    if (body.kind === "empty") {
      await conn.write(headBytes);
    } else if (body.kind === "whole") {
      if (body.bytes.byteLength <= WITH_HEAD) {
        const both = new Uint8Array(headBytes.byteLength + body.bytes.byteLength);
        both.set(headBytes);
        both.set(body.bytes, headBytes.byteLength);
        await conn.write(both);
      } else {
        await conn.write(headBytes);
        await conn.write(body.bytes);
      }
    } else {
      await conn.write(headBytes);
      const declared = chunked ? undefined : Number(headerOf(headers, "content-length"));
      await this.#pump(exchange, body.head, body.reader, declared);
    }
    exchange.written = true;
    if (exchange.state === "done") this.#settle(exchange);
  }

  /**
   * Sends a streamed body at the pace the conn takes it: chunked, or, when
   * the caller gave its length (`declared`), as it is and held to that
   * length (a body that runs over or stops short fails, and the conn with it).
   */
  async #pump(
    exchange: Exchange,
    head: Uint8Array[],
    reader: ReadableStreamDefaultReader<Uint8Array>,
    declared: number | undefined,
  ): Promise<void> {
    const chunked = declared === undefined;
    let total = 0;
    const send = async (chunk: Uint8Array) => {
      if (chunk.byteLength === 0) return;
      total += chunk.byteLength;
      if (!chunked && total > declared) throw new SourceError(lengthMismatch(declared, "more"));
      if (chunked) await this.#conn.write(encoder.encode(`${chunk.byteLength.toString(16)}\r\n`));
      await this.#conn.write(chunk);
      if (chunked) await this.#conn.write(CRLF);
    };
    try {
      for (const chunk of head) await send(chunk);
      while (exchange.state !== "failed") {
        let next: ReadableStreamReadResult<Uint8Array>;
        try {
          next = await reader.read();
          if (!next.done) checkChunk(next.value);
        } catch (err) {
          // The caller's body failed, not the conn: that says nothing of a pooled conn gone stale.
          throw new SourceError(err);
        }
        if (next.done) break;
        if (failed(exchange)) break;
        await send(next.value);
      }
    } catch (err) {
      reader.cancel(err instanceof SourceError ? err.cause : err).catch(noop);
      if (exchange.state === "failed") return;
      throw err;
    }
    if (exchange.state === "failed") return void reader.cancel().catch(noop);
    if (chunked) await this.#conn.write(LAST_CHUNK);
    else if (total !== declared) throw new SourceError(lengthMismatch(declared, `${total}`));
  }

  /** Reads the conn for as long as it is open, feeding the parser. */
  async #read(): Promise<void> {
    const conn = this.#conn;
    while (this.#state === "open") {
      let n: number | null;
      try {
        n = await conn.read(this.#buffer);
      } catch (err) {
        return this.#broken(err);
      }
      if (this.#closed()) return;
      if (n === null) return this.#eof();
      const exchange = this.#exchange;
      if (exchange === null || exchange.state === "done") {
        // Bytes nobody asked for: the conn cannot be trusted with another request.
        return this.close();
      }
      if (this.#reading === "nothing") this.#reading = "answer";
      const parsed = this.#parser.execute(this.#buffer.subarray(0, n));
      if (parsed instanceof Error || this.#reading === "unrequested") {
        // Garbage or a second answer after a whole one: the answer stands, the conn is spent.
        if (finished(exchange)) return this.#spent(exchange);
        return this.#fail(
          exchange,
          parsed instanceof Error ? parsed : new ProtocolError({
            op: "read",
            detail: "an answer began before the one in progress ended",
          }),
        );
      }
      this.#deliver(exchange);
      if (done(exchange)) this.#settle(exchange);
      const controller = exchange.controller;
      if (controller !== null && exchange.state === "streaming" && (controller.desiredSize ?? 0) <= 0) {
        await new Promise<void>((resolve) => this.#wake = resolve);
      }
    }
  }

  #onHead(
    headers: string[] | undefined,
    status: number,
    statusText: string,
    upgrade: boolean,
    keepAlive: boolean,
  ): number {
    const exchange = this.#exchange!;
    const all = this.#early.length > 0 ? [...this.#early, ...(headers ?? [])] : headers ?? [];
    this.#early = [];
    if (exchange.state !== "sending") {
      // A second answer to one request: nothing of it is taken, and the conn is not used again.
      this.#reading = "unrequested";
      return 1;
    }
    if (status >= 100 && status < 200 && status !== 101) {
      this.#reading = "interim";
      return 0;
    }
    exchange.state = "head";
    exchange.status = status;
    exchange.statusText = statusText ?? "";
    exchange.headers = all;
    // After a 101 (or any upgrade) the conn no longer speaks HTTP: it never goes back to the pool.
    exchange.keepAlive = keepAlive && !upgrade && status !== 101;
    // A HEAD answer's Content-Length is the GET's: no body follows it.
    return exchange.sent.method === "HEAD" ? 1 : 0;
  }

  #onBody(chunk: Uint8Array): void {
    const exchange = this.#exchange!;
    if (this.#reading === "unrequested" || (exchange.state !== "head" && exchange.state !== "streaming")) {
      return;
    }
    // Node's parser hands out views of the buffer it was given; Deno's copies. The read buffer is reused.
    const own = chunk.buffer === this.#buffer.buffer ? chunk.slice() : chunk;
    if (exchange.state === "streaming") exchange.controller!.enqueue(own);
    else exchange.chunks.push(own);
  }

  #onComplete(): void {
    if (this.#reading === "interim") {
      this.#reading = "answer";
      return;
    }
    const exchange = this.#exchange!;
    if (this.#reading === "unrequested") return;
    if (exchange.state === "head") {
      exchange.state = "complete";
    } else if (exchange.state === "streaming") {
      exchange.state = "done";
      exchange.controller!.close();
    }
  }

  /** Hands the answer over once its head is in: with its body as bytes if all of it came too. */
  #deliver(exchange: Exchange): void {
    if (exchange.state !== "head" && exchange.state !== "complete") return;
    const { status, statusText, headers, chunks } = exchange;
    exchange.chunks = [];
    let body: Answer["body"];
    if (exchange.state === "complete") {
      exchange.state = "done";
      body = joined(chunks);
    } else {
      exchange.state = "streaming";
      body = new ReadableStream<Uint8Array>({
        start: (controller) => {
          exchange.controller = controller;
          for (const chunk of chunks) controller.enqueue(chunk);
        },
        pull: () => {
          const wake = this.#wake;
          this.#wake = null;
          wake?.();
        },
        cancel: () => {
          if (exchange.state === "streaming") this.close();
        },
      }, { highWaterMark: BODY_WINDOW, size: (chunk) => chunk.byteLength });
    }
    exchange.resolve({ status, statusText, headers, body });
  }

  /** The answer is all in: the conn goes back to the pool once the request is all out too. */
  #settle(exchange: Exchange): void {
    if (this.#exchange !== exchange) return;
    // Answered before the request was all out (an early 413, say): the server wants no more of it
    // (RFC 9112 §9.5), so the upload stops, and the conn, mid-request, cannot be reused.
    if (!exchange.written) return this.#spent(exchange);
    exchange.detach();
    this.#exchange = null;
    if (this.#state === "closed") return;
    if (exchange.keepAlive && !hasConnectionClose(exchange.sent.headers)) this.#pool.release(this);
    else this.close();
  }

  /** The answer is whole and stands, but the conn is spent: it is handed over, and the conn closed. */
  #spent(exchange: Exchange): void {
    this.#deliver(exchange);
    exchange.detach();
    this.#exchange = null;
    const { body } = exchange.sent;
    if (body.kind === "stream" && !exchange.written) body.reader.cancel().catch(noop);
    this.close();
  }

  /** The server closed its side: a body that runs to the close ends here; anything else was cut short. */
  #eof(): void {
    const exchange = this.#exchange;
    if (exchange !== null && (exchange.state === "head" || exchange.state === "streaming")) {
      this.#parser.finish();
      if (finished(exchange)) {
        this.#deliver(exchange);
        exchange.detach();
        this.#exchange = null;
        return this.close();
      }
    }
    this.#broken(new ConnClosedError({ op: "read", detail: "closed by the server" }));
  }

  /** The conn failed under the exchange in flight, if any. */
  #broken(err: unknown): void {
    const exchange = this.#exchange;
    if (exchange === null || exchange.state === "done") return this.close();
    this.#fail(exchange, err);
  }

  /**
   * Fails `exchange` and closes the conn. Before any answer, a request on a
   * pooled conn whose body can go again is sent again (it rejects with
   * `RETRY`, for the pool to send it on another).
   */
  #fail(exchange: Exchange, err: unknown): void {
    if (exchange.state === "failed" || finished(exchange)) return;
    const { url, body, signal } = exchange.sent;
    // Not handed over yet: the fetch itself rejects (the head may have been parsed in this very read).
    const before = exchange.state === "sending" || exchange.state === "head";
    exchange.state = "failed";
    exchange.detach();
    this.close();
    if (body.kind === "stream" && !exchange.written) body.reader.cancel().catch(noop);
    if (signal?.aborted) {
      const reason = signal?.reason ?? err;
      exchange.reject(reason);
      exchange.controller?.error(reason);
      return;
    }
    const source = err instanceof SourceError;
    const cause = source
      ? new ConnClosedError({ op: "write", detail: "the request body failed", cause: err.cause })
      : err instanceof Error
      ? fromNodeError(err, "fetch", url.origin)
      : new ConnClosedError({ op: "read", detail: String(err) });
    if (before && source) {
      return exchange.reject(
        new TypeError(`error sending request for ${url.href}: its body failed: ${err.cause}`, {
          cause: err.cause,
        }),
      );
    }
    if (before) {
      // A pooled conn the server closed meanwhile: it says so on write as well as on read.
      const stale = exchange.reused && this.#reading === "nothing" && !(cause instanceof ProtocolError);
      if (stale && body.kind !== "stream") return exchange.reject(RETRY);
      if (stale) {
        return exchange.reject(
          new TypeError(
            `error sending request for ${url.href}: the pooled conn closed before an answer, and a ` +
              "streamed body cannot be sent again",
          ),
        );
      }
      return exchange.reject(failure(url, cause));
    }
    exchange.controller?.error(
      new TypeError(`the connection to ${url.host} broke while reading the body`, {
        cause: cause instanceof ConnClosedError ? cause : new ConnClosedError({
          op: "read",
          detail: "the server closed before the body was complete",
          cause,
        }),
      }),
    );
  }

  /** Whether the conn was closed (a question the type checker would otherwise answer too early across awaits). */
  #closed(): boolean {
    return this.#state === "closed";
  }

  /** Closes the conn; the exchange in flight, if any, fails. */
  close(): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.#pool.drop(this);
    this.#conn.close();
    this.#parser.close();
    this.#wake?.();
    const exchange = this.#exchange;
    if (exchange !== null && exchange.state !== "done" && exchange.state !== "failed") {
      this.#fail(exchange, new ConnClosedError({ op: "fetch", detail: "the fetch was closed" }));
    }
  }
}

/** Whether the answer is all in (asked through a call: the parser's callbacks change it behind the type checker's back). */
function done(exchange: Exchange): boolean {
  return exchange.state === "done";
}

/** Whether the whole answer is in, handed over or about to be. */
function finished(exchange: Exchange): boolean {
  return exchange.state === "complete" || exchange.state === "done";
}

function failed(exchange: Exchange): boolean {
  return exchange.state === "failed";
}

function lengthMismatch(declared: number, sent: string): RangeError {
  return new RangeError(`its Content-Length says ${declared} bytes, and it had ${sent}`);
}

function hasConnectionClose(pairs: string[]): boolean {
  for (let i = 0; i < pairs.length; i += 2) {
    if (pairs[i] === "connection" && pairs[i + 1].toLowerCase().includes("close")) return true;
  }
  return false;
}

/** The head's bytes: header values are byte strings, one character a byte. */
function latin1(text: string): Uint8Array {
  if (!NOT_ASCII.test(text)) return encoder.encode(text);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}
