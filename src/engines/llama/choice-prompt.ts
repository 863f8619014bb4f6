/**
 * A choice's prompt on its sequence (generate-choice.ts): the cached prefix is reused, the rest
 * evaluated a batch at a time so a client that leaves stops it within a batch, or the whole prompt
 * evaluated again when its log-probabilities are wanted; a request's siblings adopt the prompt its
 * first choice evaluated (prompt-fork.ts).
 */
import type { LlamaContextSequence, Token } from "node-llama-cpp";
import type { ChoiceOptions } from "./generate-choice.ts";
import { evaluateWithPromptLogprobs } from "./prompt-logprobs.ts";

/**
 * Evaluates the prompt but its last token (which the generation loop evaluates): the cached
 * prefix is reused, unless the prompt's log-probabilities are wanted. Returns the reused token
 * count, or undefined if `signal` aborted.
 */
export async function evaluatePrompt(options: ChoiceOptions): Promise<number | undefined> {
  const { sequence, prompt, signal, fork } = options;
  if (fork?.role === "sibling") await fork.fork.adopt(sequence, signal);
  try {
    if (options.promptLogprobs !== undefined) {
      const entries = await evaluateWithPromptLogprobs(sequence, prompt, options.vocabulary, options.promptLogprobs, signal);
      if (entries === undefined) return undefined;
      options.onPromptLogprobs?.(entries);
      return 0;
    }
    const cachedTokens = await reusePrefix(sequence, prompt);
    const stopped = () => signal.aborted || options.deadline?.aborted === true;
    return (await evaluateInChunks(sequence, prompt.slice(cachedTokens, -1) as Token[], stopped, options.onStep)) ? cachedTokens : undefined;
  } finally {
    if (fork?.role === "source") {
      fork.fork.provide(signal.aborted ? undefined : sequence);
      await fork.fork.seal();
    }
  }
}

/**
 * Evaluates prompt tokens one batch at a time, so a client that leaves during a long prompt stops
 * it within a batch. Returns false if it was `stopped` (client gone, or the time limit).
 */
async function evaluateInChunks(sequence: LlamaContextSequence, tokens: Token[], stopped: () => boolean, onStep: (() => void) | undefined): Promise<boolean> {
  const chunk = Math.max(1, sequence.context.batchSize);
  for (let start = 0; start < tokens.length; start += chunk) {
    if (stopped()) return false;
    await sequence.evaluateWithoutGeneratingNewTokens(tokens.slice(start, start + chunk));
    onStep?.();
  }
  return !stopped();
}

/**
 * Keeps the longest cached prefix of `prompt` in the sequence and erases the rest. At least the
 * last prompt token is always evaluated again, since its logits are needed to sample.
 */
export async function reusePrefix(sequence: LlamaContextSequence, prompt: readonly Token[]): Promise<number> {
  const { firstDifferentIndex } = sequence.compareContextTokens(prompt as Token[]);
  const keep = Math.max(0, Math.min(firstDifferentIndex, prompt.length - 1));
  if (keep < sequence.nextTokenIndex) {
    await sequence.eraseContextTokenRanges([{ start: keep, end: sequence.nextTokenIndex }]);
  }
  return keep;
}
