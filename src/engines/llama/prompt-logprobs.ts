/**
 * vLLM's `prompt_logprobs` (OctoAI's `loglikelihood`): the log-probability the model gives each
 * prompt token after the tokens before it, computed while the prompt is evaluated (one forward
 * pass). These are the model's own probabilities: no logit bias, penalties, temperature or
 * truncation.
 *
 * Cost stays independent of the vocabulary size: llama.cpp reports, per position, only the logits
 * of the actual next token and the top k (at least the largest), plus the softmax normaliser
 * (Σ exp(logit − max)), so log p(t) = logit(t) − max − ln Σ. No full distribution reaches
 * JavaScript.
 *
 * The positions' outputs are only available while they are evaluated, so a request that asks for
 * them evaluates its whole prompt (no reuse of the sequence's cached prefix).
 */
import type { ControlledEvaluateIndexOutput, ControlledEvaluateInputItem, LlamaContextSequence, Token } from "node-llama-cpp";
import type { TokenLogprob } from "../../domain/events.ts";
import { describeLogprobs } from "./logprobs.ts";
import type { Vocabulary } from "./vocabulary.ts";

/** The model's own logits (node-llama-cpp's defaults would sample greedily and truncate). */
const RAW = { temperature: 1, topK: 0, topP: 1, minP: 0 } as const;

/**
 * Evaluates the prompt but its last token (which the generation loop evaluates) on an emptied
 * sequence, one batch at a time. Returns one entry per prompt token, `null` first, or undefined if
 * `signal` aborted.
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
    const items = prompt.slice(start, end).map((token, i): ControlledEvaluateInputItem => {
      const next = prompt[start + i + 1] as Token;
      return [token, { generateNext: { logits: { filter: { tokens: [next], includeTop: Math.max(1, top) } }, totalLogitWeight: true, options: { ...RAW } } }];
    });
    const outputs = await sequence.controlledEvaluate(items);
    for (let i = start; i < end; i++) entries.push(entryAt(vocabulary, prompt[i + 1] as Token, outputs[i - start], top));
  }
  return signal.aborted ? undefined : entries;
}

function entryAt(vocabulary: Vocabulary, token: Token, output: ControlledEvaluateIndexOutput | undefined, top: number): TokenLogprob {
  const logits = output?.next.logits ?? new Map<Token, number>();
  const max = Math.max(...logits.values());
  const logNormaliser = max + Math.log(output?.next.totalLogitWeight ?? NaN);
  const logprob = (id: Token) => (logits.get(id) ?? -Infinity) - logNormaliser;
  const alternatives = [...logits.keys()].sort((a, b) => (logits.get(b) ?? 0) - (logits.get(a) ?? 0) || a - b).slice(0, top);
  return describeLogprobs(vocabulary, token, { chosen: logprob(token), top: alternatives.map((id) => ({ token: id, logprob: logprob(id) })) });
}
