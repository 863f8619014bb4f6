/**
 * vLLM's `prompt_logprobs` (OctoAI's `loglikelihood`): the log-probability the model gives each
 * prompt token after the tokens before it, computed while the prompt is evaluated (one forward
 * pass, no extra cost beyond reading each position's distribution). These are the model's own
 * probabilities: no logit bias, penalties, temperature or truncation.
 *
 * The positions' outputs are only available while they are evaluated, so a request that asks for
 * them evaluates its whole prompt (no reuse of the sequence's cached prefix).
 */
import type { ControlledEvaluateInputItem, LlamaContextSequence, Token } from "node-llama-cpp";
import type { TokenLogprob } from "../../domain/events.ts";
import { logprobEntry } from "./logprobs.ts";
import type { Vocabulary } from "./vocabulary.ts";

/** The untempered, untruncated distribution (node-llama-cpp's own defaults would truncate it). */
const RAW = { temperature: 1, topK: 0, topP: 1, minP: 0 } as const;

/**
 * Evaluates `tokens` (the prompt without its last token, which the generation loop evaluates) on
 * an empty sequence, one batch at a time. Returns one entry per prompt token, `null` first, or
 * undefined if `signal` aborted.
 *
 * @param prompt the whole prompt (its last token's entry comes from the last evaluated position).
 */
export async function evaluateWithPromptLogprobs(
  sequence: LlamaContextSequence,
  prompt: readonly Token[],
  vocabulary: Vocabulary,
  top: number,
  signal: AbortSignal,
): Promise<(TokenLogprob | null)[] | undefined> {
  if (sequence.nextTokenIndex > 0) await sequence.eraseContextTokenRanges([{ start: 0, end: sequence.nextTokenIndex }]);
  const entries: (TokenLogprob | null)[] = [null];
  const chunk = Math.max(1, sequence.context.batchSize);
  const evaluated = prompt.length - 1;
  for (let start = 0; start < evaluated; start += chunk) {
    if (signal.aborted) return undefined;
    const end = Math.min(evaluated, start + chunk);
    const items = prompt.slice(start, end).map((token): ControlledEvaluateInputItem => [token, { generateNext: { probabilities: true, options: { ...RAW } } }]);
    const outputs = await sequence.controlledEvaluate(items);
    for (let i = start; i < end; i++) {
      const next = prompt[i + 1];
      if (next === undefined) continue;
      entries.push(logprobEntry(vocabulary, next, outputs[i - start]?.next.probabilities, top));
    }
  }
  return signal.aborted ? undefined : entries;
}
