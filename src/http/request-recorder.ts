/**
 * Gathers one generation request's request-log record (any dialect) while it runs: what the request was
 * (from the raw body until validation succeeds), what the engine produced (by observing the same
 * events the response is built from, streamed or not), and how it ended. Text is kept only when
 * the request set `log_prompt: true`; otherwise only counts and finish reasons are.
 */
import type { ChatEvent, FinishReason } from "../domain/events.ts";
import type { ParsedRequest } from "./dialects/types.ts";
import type { Logger } from "../util/logger.ts";
import type { LoggedChoice, RequestLog, RequestLogRecord } from "./request-log.ts";

interface ChoiceTally {
  content: string;
  reasoning: string;
  calls: { id: string; name: string; arguments: string }[];
  finish: FinishReason | null;
}

export type RecordedError = NonNullable<RequestLogRecord["error"]>;

export class RequestRecorder {
  readonly #log: RequestLog;
  readonly #logger: Pick<Logger, "warn">;
  readonly #startedAt = Date.now();
  readonly #start = performance.now();
  #model: string | null;
  #user: string | null;
  #metadata: Readonly<Record<string, string>> | null = null;
  /** `store`, `safety_identifier` and a non-default `service_tier`, as recorded. */
  #tags: Pick<RequestLogRecord, "store" | "safety_identifier" | "service_tier"> = {};
  #stream: boolean | null = null;
  #n: number | null = null;
  #legacyFunctions = false;
  /** The input as sent (`messages`, or a text completion's `prompt`), kept only with `log_prompt: true`. */
  #input: ParsedRequest["input"] | undefined;
  #logPrompt = false;
  #id: string | null = null;
  #choices: ChoiceTally[] = [];
  #promptTokens: number | null = null;
  #completionTokens: number | null = null;
  #finished = false;

  readonly #keyUser: string | undefined;
  readonly #requestId: string | undefined;

  /**
   * `body`: the raw request body; only its `model` and `user` strings are read until validation
   * passed. `keyUser`: the API key's user (default: none, an open server). `requestId`: the
   * response's `x-request-id` (default: none recorded).
   */
  constructor(log: RequestLog, logger: Pick<Logger, "warn">, body: unknown, keyUser?: string, requestId?: string) {
    this.#log = log;
    this.#keyUser = keyUser;
    this.#requestId = requestId;
    this.#logger = logger;
    const raw = typeof body === "object" && body !== null ? (body as { model?: unknown; user?: unknown }) : {};
    this.#model = typeof raw.model === "string" ? raw.model.slice(0, 256) : null;
    this.#user = typeof raw.user === "string" ? raw.user.slice(0, 256) : null;
  }

  /** The request passed validation. Its input (messages or prompt) is kept only with `log_prompt`. */
  accepted(parsed: ParsedRequest): void {
    const [request] = parsed.requests;
    if (request === undefined) return;
    this.#model = request.model;
    this.#user = request.user?.slice(0, 256) ?? null;
    this.#metadata = parsed.metadata ?? null;
    const { tier } = request.scheduling;
    this.#tags = {
      ...(parsed.store === undefined ? {} : { store: parsed.store }),
      ...(parsed.safetyIdentifier === undefined ? {} : { safety_identifier: parsed.safetyIdentifier.slice(0, 256) }),
      ...(tier === "default" ? {} : { service_tier: tier }),
    };
    this.#stream = parsed.stream;
    const n = request.n * parsed.requests.length;
    this.#n = n;
    this.#legacyFunctions = request.tools?.legacy ?? false;
    this.#logPrompt = parsed.logPrompt;
    if (parsed.logPrompt) this.#input = parsed.input;
    this.#choices = Array.from({ length: n }, () => ({ content: "", reasoning: "", calls: [], finish: null }));
  }

  /** The completion id the response carries. */
  identified(id: string): void {
    this.#id = id;
  }

  /** Passes `events` through unchanged, noting counts, finish reasons and (with `log_prompt`) text. */
  async *observe(events: AsyncIterable<ChatEvent>): AsyncIterable<ChatEvent> {
    for await (const event of events) {
      this.#note(event);
      yield event;
    }
  }

  /**
   * Appends the record (once; later calls are ignored). `status`: the HTTP status, 499 when the
   * client went away first. `error`: why it failed, if it did.
   */
  finish(status: number, error?: RecordedError): void {
    if (this.#finished) return;
    this.#finished = true;
    const record: RequestLogRecord = {
      time: new Date(this.#startedAt).toISOString(),
      id: this.#id,
      ...(this.#requestId === undefined ? {} : { request_id: this.#requestId }),
      model: this.#model,
      user: this.#user,
      ...(this.#keyUser === undefined ? {} : { key_user: this.#keyUser }),
      metadata: this.#metadata,
      ...this.#tags,
      status,
      stream: this.#stream,
      n: this.#n,
      prompt_tokens: this.#promptTokens,
      completion_tokens: this.#completionTokens,
      latency_ms: Math.round(performance.now() - this.#start),
      finish_reasons: this.#choices.map((c) => (c.finish === "tool_calls" && this.#legacyFunctions ? "function_call" : c.finish)),
      ...(error === undefined ? {} : { error }),
      ...(this.#logPrompt && this.#input !== undefined ? { [this.#input.field]: this.#input.value, choices: this.#choices.map(toLoggedChoice) } : {}),
    };
    this.#log.append(record, this.#logger);
  }

  /** Events that carry neither text, counts nor a finish reason (e.g. scores) are not recorded. */
  #note(event: ChatEvent): void {
    switch (event.type) {
      case "usage":
        this.#promptTokens = event.usage.promptTokens;
        this.#completionTokens = event.usage.completionTokens;
        break;
      case "finish": {
        const choice = this.#choices[event.choice];
        if (choice !== undefined) choice.finish = event.reason;
        break;
      }
      case "delta": {
        const choice = this.#choices[event.choice];
        if (this.#logPrompt && choice !== undefined) choice.content += event.text;
        break;
      }
      case "reasoning": {
        const choice = this.#choices[event.choice];
        if (this.#logPrompt && choice !== undefined) choice.reasoning += event.text;
        break;
      }
      case "tool_call": {
        const choice = this.#choices[event.choice];
        if (this.#logPrompt && choice !== undefined) choice.calls[event.index] = { id: event.id, name: event.name, arguments: "" };
        break;
      }
      case "tool_arguments": {
        const call = this.#choices[event.choice]?.calls[event.index];
        if (this.#logPrompt && call !== undefined) call.arguments += event.text;
        break;
      }
      default:
        break;
    }
  }
}

function toLoggedChoice(choice: ChoiceTally): LoggedChoice {
  const calls = choice.calls.filter((call) => call !== undefined);
  return choice.reasoning === "" ? { content: choice.content, tool_calls: calls } : { content: choice.content, reasoning_content: choice.reasoning, tool_calls: calls };
}
