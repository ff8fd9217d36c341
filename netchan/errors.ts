/**
 * The errors of netchan. Each names its channel in `channel` and in its
 * message; they extend `ConnError`, so `code`, `op`, `addr`, `detail` and
 * `cause` work as for every tether error.
 *
 * @module
 */

import { ConnError, type ErrorContext } from "../errors.ts";

/**
 * What every netchan error is made from: the context of any tether error,
 * plus the channel's name.
 *
 * @example
 * ```ts
 * import { ChannelError, type ChannelErrorContext } from "@tether/tether/netchan";
 *
 * const context: ChannelErrorContext = { channel: "jobs", op: "receive", detail: "gone" };
 * console.log(new ChannelError({ ...context, code: "EPIPE" }).channel); // "jobs"
 * ```
 */
export interface ChannelErrorContext extends ErrorContext {
  /** The channel's name; `""` for a conn that failed before any channel. */
  channel: string;
}

/**
 * Something went wrong on a channel: what the `errors` streams of
 * `Exporter` and `Importer` carry. `code` says what: `EPROTO` (the peer
 * broke the protocol), `EPIPE` (the connection or the peer went away),
 * `EVALIDATION` ({@linkcode ValidationError}), `EUNDELIVERED`
 * ({@linkcode UndeliveredError}), `EMSGSIZE`; `cause` holds the error it
 * came from, if any.
 *
 * @example
 * ```ts
 * import { ChannelError } from "@tether/tether/netchan";
 *
 * const err = new ChannelError({ channel: "jobs", code: "EPROTO", op: "receive", detail: "bad message" });
 * console.log(err.message); // 'receive: channel "jobs": protocol error (bad message)'
 * ```
 */
export class ChannelError extends ConnError {
  /** The channel's name; `""` for a conn that failed before any channel. */
  readonly channel: string;
  /** Makes the error; `summary` defaults to what the code says. */
  constructor(init: ChannelErrorContext & { code: string; summary?: string }) {
    const { channel, summary, ...rest } = init;
    const what = summary ?? describeCode(init.code);
    super({
      ...rest,
      summary: channel === "" ? `before any channel: ${what}` : `channel ${JSON.stringify(channel)}: ${what}`,
    });
    this.channel = channel;
  }

  /**
   * The error `err` (a `ConnError` or anything else) as seen on `channel`:
   * same code, op, addr and detail, with `err` as the cause.
   *
   * @example
   * ```ts
   * import { ProtocolError } from "@tether/tether";
   * import { ChannelError } from "@tether/tether/netchan";
   *
   * const err = ChannelError.from("jobs", new ProtocolError({ detail: "bad type" }));
   * console.log(err.code, err.channel); // "EPROTO" "jobs"
   * ```
   */
  static from(channel: string, err: unknown): ChannelError {
    if (err instanceof ChannelError && err.channel === channel) return err;
    if (err instanceof ConnError) {
      return new ChannelError({
        channel,
        code: err.code,
        op: err.op,
        addr: err.addr,
        detail: err.detail,
        cause: err,
      });
    }
    const detail = err instanceof Error ? err.message : String(err);
    return new ChannelError({ channel, code: "EIO", summary: "failed", detail, cause: err });
  }
}

function describeCode(code: string): string {
  switch (code) {
    case "EPROTO":
      return "protocol error";
    case "EPIPE":
      return "connection closed";
    case "EMSGSIZE":
      return "message too large";
    default:
      return code;
  }
}

/**
 * The issues a Standard Schema validator reports: a message and, where
 * known, the path to the bad part.
 *
 * @example
 * ```ts
 * import type { Issue } from "@tether/tether/netchan";
 *
 * const issue: Issue = { message: "Expected number", path: ["id"] };
 * console.log(issue.message);
 * ```
 */
export interface Issue {
  /** What is wrong. */
  readonly message: string;
  /** Where, as keys (or `{ key }` segments) from the value's root. */
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>;
}

/**
 * A value failed its channel's schema (`EVALIDATION`). It never reached the
 * stream; it is here with the validator's issues.
 *
 * @example
 * ```ts
 * import { ValidationError } from "@tether/tether/netchan";
 *
 * const err = new ValidationError({ channel: "jobs", value: { id: "x" }, issues: [{ message: "Expected number", path: ["id"] }] });
 * console.log(err.message); // 'receive: channel "jobs": value failed validation (id: Expected number)'
 * ```
 */
export class ValidationError extends ChannelError {
  /** The value as it arrived. */
  readonly value: unknown;
  /** What the validator said. */
  readonly issues: readonly Issue[];
  /** Makes the error for `value` and its `issues`. */
  constructor(init: ChannelErrorContext & { value: unknown; issues: readonly Issue[] }) {
    const { value, issues, ...rest } = init;
    super({
      op: "receive",
      detail: issues.slice(0, 3).map(formatIssue).join("; ") + (issues.length > 3 ? "; ..." : ""),
      ...rest,
      code: "EVALIDATION",
      summary: "value failed validation",
    });
    this.value = value;
    this.issues = issues;
  }
}

function formatIssue(issue: Issue): string {
  const path = (issue.path ?? []).map((p) => String(typeof p === "object" ? p.key : p)).join(".");
  return path === "" ? issue.message : `${path}: ${issue.message}`;
}

/**
 * Values a writer handed over were never delivered, or may not have been
 * (`EUNDELIVERED`): the peer went away with them in flight, or the channel
 * was hung up before they were sent. Netchan never sends a value twice
 * (at-most-once delivery), so these are yours to retry or drop.
 *
 * @example
 * ```ts
 * import { UndeliveredError } from "@tether/tether/netchan";
 *
 * const err = new UndeliveredError({ channel: "jobs", values: [1, 2], certain: false, detail: "peer vanished" });
 * console.log(err.values.length, err.certain); // 2 false
 * ```
 */
export class UndeliveredError extends ChannelError {
  /** The values, in the order they were written. */
  readonly values: readonly unknown[];
  /**
   * `true` if none of them reached a reader; `false` if they were in flight
   * when the peer went away, so some may have.
   */
  readonly certain: boolean;
  /** Makes the error for `values`. */
  constructor(init: ChannelErrorContext & { values: readonly unknown[]; certain: boolean }) {
    const { values, certain, ...rest } = init;
    const n = values.length === 1 ? "1 value" : `${values.length} values`;
    super({
      op: "send",
      ...rest,
      code: "EUNDELIVERED",
      summary: certain ? `${n} not delivered` : `${n} possibly not delivered`,
    });
    this.values = values;
    this.certain = certain;
  }
}

/**
 * Why an exporter refused an import: the {@linkcode ChannelRefusedError}'s
 * `reason`.
 *
 * @example
 * ```ts
 * import type { RefusalReason } from "@tether/tether/netchan";
 *
 * const reason: RefusalReason = "unknown channel";
 * console.log(reason);
 * ```
 */
export type RefusalReason =
  | "unknown channel"
  | "wrong direction"
  | "codec mismatch"
  | "unsupported version"
  | "bad request";

/**
 * The exporter refused an import (`ENOCHANNEL` for a name nobody exports,
 * `EREFUSED` otherwise); `reason` says why, the message how to fix it.
 *
 * @example
 * ```ts
 * import { ChannelRefusedError } from "@tether/tether/netchan";
 *
 * const err = new ChannelRefusedError({ channel: "jobz", reason: "unknown channel", detail: "nothing is exported under that name" });
 * console.log(err.code); // "ENOCHANNEL"
 * ```
 */
export class ChannelRefusedError extends ChannelError {
  /** Why. */
  readonly reason: RefusalReason;
  /** Makes the error for `reason`. */
  constructor(init: ChannelErrorContext & { reason: RefusalReason }) {
    const { reason, ...rest } = init;
    super({
      op: "import",
      ...rest,
      code: reason === "unknown channel" ? "ENOCHANNEL" : "EREFUSED",
      summary: `import refused: ${reason}`,
    });
    this.reason = reason;
  }
}
