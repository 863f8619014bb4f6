/**
 * Speculative decoding measured on the engine alone, on token ids: what Parley's drafting loop
 * (src/engines/llama/speculative-steps.ts) gains when its drafts are as good as the prediction,
 * whatever the tokenizer does with text.
 *
 * Why beside the HTTP workload: a random-weight model emits tokens no tokenizer would produce from
 * its own text (a word split in pieces where the tokenizer has one token for it), so a prediction
 * sent as text, tokenized again, differs from the output's tokens at many places, and the drafts
 * fail there. A real model's output tokenizes back to itself nearly everywhere. Here the
 * prediction is the greedy output's own tokens: exact, or with a few small token-level edits (a
 * run replaced, one inserted, one removed).
 *
 * One sequence, greedy, `tokens` tokens after the prompt: plain node-llama-cpp decoding, then the
 * drafting loop with each prediction; every output must equal the plain one.
 */
import { getLlama, LlamaLogLevel, type LlamaContextSequence, type Token } from "node-llama-cpp";
import { PredictionDraft } from "../src/engines/llama/draft-sources.ts";
import { SpeculativeSteps } from "../src/engines/llama/speculative-steps.ts";

export interface DraftEngineOptions {
  readonly modelPath: string;
  readonly prompt: string;
  readonly tokens: number;
  readonly threads: number;
  readonly runs: number;
  /** Most tokens drafted per step (default 16, as `--draft-max`). */
  readonly draftMax?: number;
}

export interface DraftEngineRow {
  readonly prediction: string;
  readonly tokensPerSecond: number;
  readonly plainTokensPerSecond: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly identical: boolean;
}

export async function runDraftEngine(options: DraftEngineOptions): Promise<DraftEngineRow[]> {
  const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, logger: () => undefined });
  const model = await llama.loadModel({ modelPath: options.modelPath });
  const context = await model.createContext({ contextSize: 4096, sequences: 1, threads: options.threads });
  const sequence = context.getSequence();
  const prompt = model.tokenize(options.prompt);
  try {
    const plain = async (): Promise<{ output: Token[]; ms: number }> => {
      await sequence.clearHistory();
      await sequence.evaluateWithoutGeneratingNewTokens(prompt.slice(0, -1));
      const output: Token[] = [];
      const started = performance.now();
      for await (const token of sequence.evaluate(prompt.slice(-1), { temperature: 0, yieldEogToken: true })) {
        output.push(token);
        if (output.length >= options.tokens) break;
      }
      return { output, ms: performance.now() - started };
    };
    const drafted = async (predicted: readonly Token[]) => {
      await sequence.clearHistory();
      await sequence.evaluateWithoutGeneratingNewTokens(prompt.slice(0, -1));
      const source = new PredictionDraft(predicted, { promptLength: prompt.length });
      const steps = new SpeculativeSteps({
        sequence,
        prompt,
        source,
        maxTokens: options.tokens,
        draftMax: options.draftMax ?? 16,
        sampling: { temperature: 0, topP: 1, topK: 0, minP: 0, seed: 0 },
      });
      const output: Token[] = [];
      const started = performance.now();
      while (output.length < options.tokens) {
        const next = await steps.next();
        if (next.done === true) break;
        output.push(next.value.token);
      }
      const ms = performance.now() - started;
      await steps.return();
      return { output, ms, counts: steps.counts };
    };
    const reference = await plain();
    const predictions: [string, Token[]][] = [
      ["exact (token ids)", reference.output],
      ["4 small edits (token ids)", editTokens(reference.output)],
    ];
    const rows: DraftEngineRow[] = [];
    for (const [name, predicted] of predictions) {
      let plainMs = 0;
      let draftMs = 0;
      let accepted = 0;
      let rejected = 0;
      let identical = true;
      for (let run = 0; run < options.runs; run++) {
        const a = await plain();
        const b = await drafted(predicted);
        plainMs += a.ms;
        draftMs += b.ms;
        accepted += b.counts.accepted;
        rejected += b.counts.rejected;
        identical &&= same(a.output, reference.output) && same(b.output, reference.output);
      }
      const total = options.tokens * options.runs;
      rows.push({ prediction: name, plainTokensPerSecond: (total * 1000) / plainMs, tokensPerSecond: (total * 1000) / draftMs, accepted, rejected, identical });
    }
    return rows;
  } finally {
    await clear(sequence);
    await context.dispose();
    await model.dispose();
  }
}

async function clear(sequence: LlamaContextSequence): Promise<void> {
  if (!sequence.disposed) await sequence.clearHistory();
}

/** Four small token-level edits spread over the output: a run of 3 replaced, 2 inserted, 3 removed, 1 replaced. */
export function editTokens(tokens: readonly Token[]): Token[] {
  const at = (share: number) => Math.floor(tokens.length * share);
  const other = (token: Token | undefined) => ((token ?? 0) + 7) as Token;
  return [
    ...tokens.slice(0, at(0.2)),
    ...tokens.slice(at(0.2), at(0.2) + 3).map(other),
    ...tokens.slice(at(0.2) + 3, at(0.4)),
    other(tokens[at(0.4)]),
    other(tokens[at(0.4) + 1]),
    ...tokens.slice(at(0.4), at(0.6)),
    ...tokens.slice(at(0.6) + 3, at(0.8)),
    other(tokens[at(0.8)]),
    ...tokens.slice(at(0.8) + 1),
  ];
}

function same(a: readonly Token[], b: readonly Token[]): boolean {
  return a.length === b.length && a.every((token, i) => token === b[i]);
}
