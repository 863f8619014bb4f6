/**
 * The text-completions response (`text_completion` objects), streamed or not, from one pass over
 * the engine's events. Log-probabilities take the legacy shape: `tokens`, `token_logprobs`,
 * `top_logprobs` (per token, the alternatives as a `{token: logprob}` map, with the chosen token
 * always in it, as OpenAI does) and `text_offset` (each token's character offset in the choice's
 * text, counted from its start, echoed prompt included). With `echo`, the prompt's tokens come
 * first, the first of them without a log-probability (`null`: nothing predicts it); a first
 * token the prompt text does not hold (BOS) is left out.
 */
import type { Completion, CompletionChoice } from "openai/resources/completions";
import type { ChatEvent, FinishReason, TokenLogprob, Usage } from "../../../domain/events.ts";
import type { HttpError } from "../../errors.ts";
import { DONE, type SseFrame } from "../../sse.ts";
import { finiteLogprob, toWireUsage } from "../openai-wire.ts";
import type { ResponseMeta, ResponseSink } from "../types.ts";

export interface CompletionSinkOptions {
  /** Choices per prompt. */
  readonly n: number;
  /** How many prompts the request holds. */
  readonly prompts: number;
  /** `logprobs`: the legacy object is returned (undefined: `logprobs: null`). */
  readonly logprobs: number | undefined;
  /** `echo`: each choice's text starts with its prompt. */
  readonly echo: boolean;
  /** `stream_options.include_usage` (default false). */
  readonly withUsage?: boolean;
}

type WireLogprobs = NonNullable<CompletionChoice["logprobs"]>;

interface ChoiceState {
  text: string;
  /** Characters of `text` the logprobs' offsets have covered. */
  offset: number;
  logprobs: { tokens: string[]; token_logprobs: (number | null)[]; top_logprobs: (Record<string, number> | null)[]; text_offset: number[] };
  /** The prompt's entries, waiting to lead the choice's first output (echo with logprobs). */
  pendingPrompt: readonly (TokenLogprob | null)[] | undefined;
  finish: FinishReason | null;
  score: number | undefined;
}

export class CompletionSink implements ResponseSink {
  readonly #meta: ResponseMeta;
  readonly #options: CompletionSinkOptions;
  readonly #choices: ChoiceState[];
  #usage: Usage | undefined;

  constructor(meta: ResponseMeta, options: CompletionSinkOptions) {
    this.#meta = meta;
    this.#options = options;
    this.#choices = Array.from({ length: options.n * options.prompts }, () => ({
      text: "",
      offset: 0,
      logprobs: { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] },
      pendingPrompt: undefined,
      finish: null,
      score: undefined,
    }));
  }

  open(): SseFrame[] {
    return [];
  }

  event(event: ChatEvent): SseFrame[] {
    switch (event.type) {
      case "usage":
        this.#usage = event.usage;
        return this.#options.withUsage ? [{ data: { ...this.#chunk([]), usage: toWireUsage(event.usage) } }] : [];
      case "prompt_logprobs": {
        const prompt = event.prompt ?? 0;
        if (this.#options.echo && this.#options.logprobs !== undefined) {
          for (let c = 0; c < this.#options.n; c++) {
            const state = this.#choices[prompt * this.#options.n + c];
            if (state !== undefined) state.pendingPrompt = event.entries;
          }
        }
        return [];
      }
      case "delta":
      case "reasoning": {
        // A raw prompt has no reasoning markup: any thoughts an engine reports are text too.
        const state = this.#choices[event.choice];
        if (state === undefined) return [];
        const before = state.logprobs.tokens.length;
        state.text += event.text;
        if (state.pendingPrompt !== undefined) {
          this.#addPrompt(state, state.pendingPrompt, event.text);
          state.pendingPrompt = undefined;
        } else this.#add(state, event.logprobs);
        // Streamed chunks carry `finish_reason: null` until the last (the SDK's type omits it).
        const choice = { index: event.choice, text: event.text, logprobs: this.#slice(state, before), finish_reason: null } as unknown as CompletionChoice;
        return [{ data: this.#chunk([choice]) }];
      }
      case "tool_call":
      case "tool_arguments":
        return []; // no tools in text completions
      case "score": {
        const state = this.#choices[event.choice];
        if (state !== undefined) state.score = event.cumulativeLogprob;
        return [];
      }
      case "finish": {
        const state = this.#choices[event.choice];
        if (state !== undefined) state.finish = event.reason;
        return [{ data: this.#chunk([{ index: event.choice, text: "", logprobs: null, finish_reason: wireFinish(event.reason) }]) }];
      }
      default:
        return event satisfies never;
    }
  }

  close(): SseFrame[] {
    return [DONE];
  }

  error(mapped: HttpError): SseFrame[] {
    return [{ data: mapped.body }];
  }

  body(): Completion {
    const usage = this.#usage;
    if (usage === undefined) throw new Error("the engine finished without reporting usage");
    const choices = this.#choices.flatMap((c, index) =>
      c.finish === null
        ? []
        : [
            {
              index,
              text: c.text,
              logprobs: this.#options.logprobs === undefined ? null : (c.logprobs as WireLogprobs),
              finish_reason: wireFinish(c.finish),
              ...(c.score === undefined ? {} : { cumulative_logprob: c.score }),
            },
          ],
    );
    return { ...this.#chunk(choices), usage: toWireUsage(usage) };
  }

  /** Generated tokens' entries, each at the offset its text starts. */
  #add(state: ChoiceState, entries: readonly TokenLogprob[]): void {
    if (this.#options.logprobs === undefined) return;
    for (const entry of entries) {
      state.logprobs.tokens.push(entry.token);
      state.logprobs.token_logprobs.push(finiteLogprob(entry.logprob));
      state.logprobs.top_logprobs.push(topMap(entry));
      state.logprobs.text_offset.push(state.offset);
      state.offset += entry.token.length;
    }
  }

  /** The echoed prompt's entries (`echoed`: the prompt's text as echoed); the null first one named from the text. */
  #addPrompt(state: ChoiceState, entries: readonly (TokenLogprob | null)[], echoed: string): void {
    const rest = entries.slice(1).filter((e): e is TokenLogprob => e !== null);
    const restText = rest.map((e) => e.token).join("");
    const firstText = echoed.endsWith(restText) ? echoed.slice(0, echoed.length - restText.length) : "";
    if (firstText !== "") {
      state.logprobs.tokens.push(firstText);
      state.logprobs.token_logprobs.push(null);
      state.logprobs.top_logprobs.push(null);
      state.logprobs.text_offset.push(state.offset);
      state.offset += firstText.length;
    }
    this.#add(state, rest);
  }

  /** The entries added since `from`, as a streamed chunk carries them. */
  #slice(state: ChoiceState, from: number): WireLogprobs | null {
    if (this.#options.logprobs === undefined) return null;
    const l = state.logprobs;
    return {
      tokens: l.tokens.slice(from),
      token_logprobs: l.token_logprobs.slice(from) as number[],
      top_logprobs: l.top_logprobs.slice(from) as Record<string, number>[],
      text_offset: l.text_offset.slice(from),
    };
  }

  #chunk(choices: CompletionChoice[]): Completion {
    const { id, created, model, fingerprint } = this.#meta;
    return { id, object: "text_completion", created, model, system_fingerprint: fingerprint, choices };
  }
}

/** The alternatives as OpenAI's legacy map, the chosen token always among them. */
function topMap(entry: TokenLogprob): Record<string, number> {
  const map: Record<string, number> = {};
  for (const top of entry.topLogprobs) map[top.token] ??= finiteLogprob(top.logprob);
  map[entry.token] ??= finiteLogprob(entry.logprob);
  return map;
}

function wireFinish(reason: FinishReason): CompletionChoice["finish_reason"] {
  return reason === "tool_calls" ? "stop" : reason;
}
