/**
 * An upstream's text-completion answers (`text_completion` objects: `choices[].text`,
 * `finish_reason`, `usage`) → the same `ChatEvent`s the chat path emits (chunk-events.ts), streamed
 * chunk by chunk or whole. Log-probabilities come in the legacy shape (`tokens`, `token_logprobs`,
 * `top_logprobs` as `{token: logprob}` maps, `text_offset`), or as chat's `content` list
 * (llama.cpp's server); each token becomes a `TokenLogprob` (bytes: its text's UTF-8), its
 * alternatives sorted and cut to the number the client asked for.
 *
 * With `echo` and log-probabilities, each choice's text starts with the prompt, and its first
 * log-probabilities are the prompt's (the first `null`: nothing predicts it). Parley's engines
 * report that as a `prompt_logprobs` event, then the echo as a delta, then the generated text, so
 * the echoed part is split off here: for a text prompt, the characters and tokens before the
 * prompt's length; for token ids, one token per id. Stateful (a choice's echo may span chunks):
 * one `TextEvents` per upstream answer. Nothing here does I/O.
 */
import type { ChatEvent, TokenLogprob, TopLogprob } from "../../domain/events.ts";
import { errorFromEnvelope, finish as finishEvent, malformed, toLogprobs, toUsage } from "./chunk-events.ts";

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

export interface TextEventsOptions {
  /** Alternatives per token the client asked for; an upstream's extra ones are cut (default: all kept). */
  readonly topLogprobs?: number;
  /** `echo` with log-probabilities: the prompt each choice's text starts with, split off as described above (default: nothing split). */
  readonly echoPrompt?: string | readonly number[];
}

/** One token as the upstream sent it, and where its text starts in the choice's text (when said). */
interface Entry {
  readonly logprob: TokenLogprob;
  readonly offset: number | undefined;
}

/** A choice's echo, gathered until it is whole. */
interface EchoState {
  /** Characters of the choice's text seen so far. */
  seen: number;
  text: string;
  entries: Entry[];
  /** Token-id prompts: the prompt's tokens still expected. */
  tokensLeft: number;
  done: boolean;
}

export class TextEvents {
  readonly #options: TextEventsOptions;
  readonly #echo = new Map<number, EchoState>();
  #promptSent = false;

  constructor(options: TextEventsOptions = {}) {
    this.#options = options;
  }

  /** The events of one streamed chunk (already JSON-parsed). An `{error}` frame throws. */
  chunk(chunk: unknown): ChatEvent[] {
    if (!isObject(chunk)) throw malformed("a stream event is not a JSON object");
    if (isObject(chunk.error)) throw errorFromEnvelope(undefined, chunk);
    if (!Array.isArray(chunk.choices)) throw malformed("a stream chunk has no `choices` list");
    const events: ChatEvent[] = [];
    for (const choice of chunk.choices) {
      if (!isObject(choice) || typeof choice.index !== "number") throw malformed("a stream choice has no `index`");
      this.#choice(choice, choice.index, typeof choice.finish_reason === "string" ? choice.finish_reason : undefined, events);
    }
    if (isObject(chunk.usage)) events.push({ type: "usage", usage: toUsage(chunk.usage) });
    return events;
  }

  /** The events of a whole `text_completion`, in the order a stream would carry them. */
  completion(completion: unknown): ChatEvent[] {
    if (!isObject(completion) || !Array.isArray(completion.choices)) throw malformed("the completion has no `choices` list");
    const events: ChatEvent[] = [];
    for (const choice of completion.choices) {
      if (!isObject(choice) || typeof choice.index !== "number") throw malformed("a choice has no `index`");
      this.#choice(choice, choice.index, typeof choice.finish_reason === "string" ? choice.finish_reason : "stop", events);
    }
    events.push({ type: "usage", usage: isObject(completion.usage) ? toUsage(completion.usage) : { promptTokens: 0, completionTokens: 0, cachedTokens: 0 } });
    return events;
  }

  #choice(choice: Json, index: number, finish: string | undefined, events: ChatEvent[]): void {
    const text = typeof choice.text === "string" ? choice.text : "";
    const rest = this.#splitEcho(index, text, this.#entries(choice.logprobs), events);
    if (finish !== undefined) this.#flushEcho(index, events);
    if (rest.text !== "" || rest.entries.length > 0) events.push({ type: "delta", choice: index, text: rest.text, logprobs: rest.entries.map((e) => e.logprob) });
    if (typeof choice.cumulative_logprob === "number") events.push({ type: "score", choice: index, cumulativeLogprob: choice.cumulative_logprob });
    if (finish !== undefined) events.push(finishEvent(index, choice, finish));
  }

  /** The tokens of a choice's `logprobs`, legacy or chat-shaped. */
  #entries(logprobs: unknown): Entry[] {
    if (!isObject(logprobs)) return [];
    if (Array.isArray(logprobs.content)) return toLogprobs(logprobs.content).map((lp) => ({ logprob: { ...lp, topLogprobs: this.#cut(lp.topLogprobs) }, offset: undefined }));
    const logprobValues = asArray(logprobs.token_logprobs);
    const tops = asArray(logprobs.top_logprobs);
    const offsets = asArray(logprobs.text_offset);
    return asArray(logprobs.tokens).map((t, i) => {
      const top = tops[i];
      const alternatives = isObject(top)
        ? Object.entries(top)
            .flatMap(([token, logprob]) => (typeof logprob === "number" ? [topLogprob(token, logprob)] : []))
            .sort((a, b) => b.logprob - a.logprob)
        : [];
      const value = logprobValues[i];
      const offset = offsets[i];
      return {
        logprob: { ...topLogprob(typeof t === "string" ? t : "", typeof value === "number" ? value : -9999), topLogprobs: this.#cut(alternatives) },
        offset: typeof offset === "number" ? offset : undefined,
      };
    });
  }

  #cut(alternatives: readonly TopLogprob[]): readonly TopLogprob[] {
    const keep = this.#options.topLogprobs;
    return keep === undefined ? alternatives : alternatives.slice(0, keep);
  }

  /** Gathers the echo's part of this piece of a choice's text; returns the generated rest. */
  #splitEcho(index: number, text: string, entries: Entry[], events: ChatEvent[]): { text: string; entries: Entry[] } {
    const prompt = this.#options.echoPrompt;
    if (prompt === undefined) return { text, entries };
    let state = this.#echo.get(index);
    if (state === undefined) {
      state = { seen: 0, text: "", entries: [], tokensLeft: typeof prompt === "string" ? 0 : prompt.length, done: false };
      this.#echo.set(index, state);
    }
    if (state.done) return { text, entries };
    // Where each token starts in the choice's text: the upstream's offset, else after the one before.
    let running = state.seen;
    const starts = entries.map((e) => {
      const start = e.offset ?? running;
      running = start + e.logprob.token.length;
      return start;
    });
    let chars: number;
    let tokens: number;
    if (typeof prompt === "string") {
      chars = Math.min(prompt.length - state.seen, text.length);
      if (text.slice(0, chars) !== prompt.slice(state.seen, state.seen + chars)) {
        // Not the prompt: nothing to split off (what was held goes out as text).
        state.done = true;
        return { text: state.text + text, entries: [...state.entries, ...entries] };
      }
      const firstGenerated = starts.findIndex((s) => s >= prompt.length);
      tokens = firstGenerated === -1 ? entries.length : firstGenerated;
    } else {
      tokens = Math.min(state.tokensLeft, entries.length);
      state.tokensLeft -= tokens;
      const next = starts[tokens];
      chars = next === undefined ? text.length : Math.min(text.length, Math.max(0, next - state.seen));
    }
    state.text += text.slice(0, chars);
    state.entries.push(...entries.slice(0, tokens));
    state.seen += chars;
    if (typeof prompt === "string" ? state.seen >= prompt.length : state.tokensLeft === 0) this.#emitEcho(index, state, events);
    return { text: text.slice(chars), entries: entries.slice(tokens) };
  }

  /** A choice that ends with its echo still gathering: what was gathered is its echo. */
  #flushEcho(index: number, events: ChatEvent[]): void {
    const state = this.#echo.get(index);
    if (state !== undefined && !state.done) this.#emitEcho(index, state, events);
  }

  /** The prompt's log-probabilities (once per answer: every choice shares the prompt), then the echo. */
  #emitEcho(index: number, state: EchoState, events: ChatEvent[]): void {
    state.done = true;
    if (!this.#promptSent) {
      this.#promptSent = true;
      events.push({ type: "prompt_logprobs", entries: state.entries.map((e, i) => (i === 0 ? null : e.logprob)) });
    }
    events.push({ type: "delta", choice: index, text: state.text, logprobs: [] });
  }
}

function topLogprob(token: string, logprob: number): TopLogprob {
  return { token, logprob, bytes: [...Buffer.from(token, "utf8")] };
}
