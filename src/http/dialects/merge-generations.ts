/**
 * One request, several generations (a text completion's list of prompts): their events as one
 * stream, choices renumbered (generation i's choice c becomes i × n + c; its prompt
 * log-probabilities say `prompt: i`), and one `usage` event at the end with their sums, as
 * OpenAI reports a batched completion.
 */
import type { ChatEvent, Usage } from "../../domain/events.ts";
import { AsyncQueue } from "../../util/async-queue.ts";

/** `n`: choices per generation. A single generation passes through as it is. */
export function mergeGenerations(streams: readonly AsyncIterable<ChatEvent>[], n: number): AsyncIterable<ChatEvent> {
  const [only] = streams;
  if (streams.length === 1 && only !== undefined) return only;
  const merged = new AsyncQueue<ChatEvent>();
  const usages: Usage[] = [];
  let failure: unknown;
  const pumps = streams.map(async (events, i) => {
    try {
      for await (const event of events) {
        if (event.type === "usage") usages.push(event.usage);
        else merged.push(renumber(event, i, n));
      }
    } catch (error) {
      failure ??= error;
    }
  });
  void Promise.all(pumps).then(() => {
    // Usage even when one failed: what was generated counts.
    if (usages.length > 0) merged.push({ type: "usage", usage: sum(usages) });
    merged.close(failure);
  });
  return merged;
}

function renumber(event: Exclude<ChatEvent, { type: "usage" }>, generation: number, n: number): ChatEvent {
  if (event.type === "prompt_logprobs") return { ...event, prompt: generation };
  return { ...event, choice: generation * n + event.choice };
}

function sum(usages: readonly Usage[]): Usage {
  const total = (key: "promptTokens" | "completionTokens" | "cachedTokens") => usages.reduce((s, u) => s + u[key], 0);
  const reasoning = usages.some((u) => u.reasoningTokens !== undefined) ? { reasoningTokens: usages.reduce((s, u) => s + (u.reasoningTokens ?? 0), 0) } : {};
  const optional = (key: "acceptedPredictionTokens" | "rejectedPredictionTokens") => (usages.some((u) => u[key] !== undefined) ? { [key]: usages.reduce((s, u) => s + (u[key] ?? 0), 0) } : {});
  return {
    promptTokens: total("promptTokens"),
    completionTokens: total("completionTokens"),
    cachedTokens: total("cachedTokens"),
    ...reasoning,
    ...optional("acceptedPredictionTokens"),
    ...optional("rejectedPredictionTokens"),
  };
}
