/**
 * The request log (`--request-log <path>`): one JSON object per line, appended to a file. Records
 * hold metadata only (time, user, model, token counts, latency); prompt and completion text appear
 * only for requests that asked for it with `log_prompt: true`. Writes are queued so lines never
 * interleave, and a failed write never fails a request: it is reported once, as a warning.
 */
import { open, type FileHandle } from "node:fs/promises";
import type { Logger } from "../util/logger.ts";

/** One tool call as the choice produced it (`arguments`: JSON text). */
export interface LoggedToolCall {
  readonly id: string;
  readonly name: string;
  readonly arguments: string;
}

/** A choice's final output (only with `log_prompt: true`). */
export interface LoggedChoice {
  readonly content: string;
  /** A reasoning model's thoughts, when it had any. */
  readonly reasoning_content?: string;
  readonly tool_calls: readonly LoggedToolCall[];
}

/** One line of the request log. `null`: not known (e.g. the request failed before generation). */
export interface RequestLogRecord {
  /** When the request arrived (ISO 8601). */
  readonly time: string;
  /** The completion id (`chatcmpl-…`) the client received. */
  readonly id: string | null;
  /** The response's `x-request-id` (the client's own when it sent a safe one; see http/request-id.ts). */
  readonly request_id?: string;
  readonly model: string | null;
  readonly user: string | null;
  /** The API key's user (absent on an open server). */
  readonly key_user?: string;
  /** OpenAI `metadata` tags. */
  readonly metadata: Readonly<Record<string, string>> | null;
  /** OpenAI `store`, when the request set it (Parley keeps no completions: recorded only). */
  readonly store?: boolean;
  /** OpenAI `safety_identifier`, when the request set it. */
  readonly safety_identifier?: string;
  /** OpenAI `service_tier`, when the request was queued ahead of (`priority`) or behind (`flex`) others. */
  readonly service_tier?: string;
  /** The HTTP status; 499 when the client disconnected before the response was complete. */
  readonly status: number;
  readonly stream: boolean | null;
  readonly n: number | null;
  readonly prompt_tokens: number | null;
  readonly completion_tokens: number | null;
  /** From the request's arrival to the end of the response (or of the failure), in milliseconds. */
  readonly latency_ms: number;
  /** Per choice, as the client saw it; `null` for a choice that never finished. */
  readonly finish_reasons: readonly (string | null)[];
  /** Why the request failed (also set for an error sent mid-stream, where `status` stays 200). */
  readonly error?: { readonly type: string; readonly code: string | number | null; readonly param: string | null };
  /** `log_prompt: true` only: the request's messages as sent (chat completions). */
  readonly messages?: unknown;
  /** `log_prompt: true` only: the request's prompt as sent (text completions). */
  readonly prompt?: unknown;
  /** `log_prompt: true` only: each choice's output (what was generated so far, if interrupted). */
  readonly choices?: readonly LoggedChoice[];
}

export interface RequestLogOptions {
  /** The JSONL file; created if missing, always appended to. */
  readonly path: string;
}

export class RequestLog {
  readonly #path: string;
  #file: Promise<FileHandle> | undefined;
  /** The queue: each write starts once the previous one has finished. */
  #tail: Promise<void> = Promise.resolve();
  #warned = false;
  #closed = false;

  constructor(options: RequestLogOptions) {
    this.#path = options.path;
  }

  get path(): string {
    return this.#path;
  }

  /**
   * Queues one record. Never throws and never waits: a write failure is reported once to `logger`
   * (later failures are silent; later records are still attempted). Ignored after `close()`.
   */
  append(record: RequestLogRecord, logger: Pick<Logger, "warn">): void {
    if (this.#closed) return;
    const line = `${JSON.stringify(record)}\n`;
    this.#tail = this.#tail.then(
      () => this.#write(line).catch((error: unknown) => this.#warn(error, logger)),
      () => undefined,
    );
  }

  /** Resolves once every record appended so far has been written (or has failed). */
  flush(): Promise<void> {
    return this.#tail;
  }

  /** Writes what is queued, then closes the file. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#tail;
    const file = this.#file;
    this.#file = undefined;
    if (file !== undefined) await file.then((handle) => handle.close()).catch(() => undefined);
  }

  async #write(line: string): Promise<void> {
    this.#file ??= open(this.#path, "a");
    let handle: FileHandle;
    try {
      handle = await this.#file;
    } catch (error) {
      this.#file = undefined; // the next record tries to open it again
      throw error;
    }
    await handle.appendFile(line, "utf8");
  }

  #warn(error: unknown, logger: Pick<Logger, "warn">): void {
    if (this.#warned) return;
    this.#warned = true;
    logger.warn({ err: error, path: this.#path }, "could not write to the request log; requests are unaffected (further failures are not reported)");
  }
}
