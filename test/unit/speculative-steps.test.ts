import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { getLlama, LlamaLogLevel, type LlamaContext, type LlamaContextSequence, type LlamaModel, type Token } from "node-llama-cpp";
import { PredictionDraft } from "../../src/engines/llama/draft-sources.ts";
import { StepCosts } from "../../src/engines/llama/draft-policy.ts";
import { SpeculativeSteps } from "../../src/engines/llama/speculative-steps.ts";
import { ensureTestModel } from "../../src/testing/test-model.ts";

/**
 * Parley's drafting loop on the test model, driven with token ids (a text prediction is tokenized
 * again, which a random model's output does not always survive: see prediction.test.ts): whole
 * drafts are kept, a greedy output equals plain decoding token for token, and the KV cache holds
 * exactly the output afterwards. Step costs are fixed (as a GPU's), so what is drafted does not
 * depend on this machine's timings; draft-policy.test.ts covers the choice itself.
 */
describe("SpeculativeSteps", () => {
  let model: LlamaModel;
  let context: LlamaContext;
  let sequence: LlamaContextSequence;
  let prompt: Token[];
  const LENGTH = 80;
  const greedy = { temperature: 0, topP: 1, topK: 0, minP: 0, seed: 0 };

  before(async () => {
    const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, logger: () => {} });
    model = await llama.loadModel({ modelPath: await ensureTestModel() });
    context = await model.createContext({ contextSize: 1024, sequences: 1, threads: 1 });
    sequence = context.getSequence();
    prompt = model.tokenize("Rewrite this text, please: the report was filed on time.");
  });
  after(async () => {
    await context?.dispose();
    await model?.dispose();
  });

  /** Step costs fixed as a GPU's (a batch costs about one step), whatever this machine measures: drafting always pays. */
  const gpuLike = () => {
    const costs = new (class extends StepCosts {
      override record(): void {}
      override age(): number {
        return 0;
      }
    })();
    for (let tokens = 1; tokens <= 64; tokens++) StepCosts.prototype.record.call(costs, tokens, 1 + tokens * 0.01);
    return costs;
  };
  const fresh = async () => {
    await sequence.clearHistory();
    await sequence.evaluateWithoutGeneratingNewTokens(prompt.slice(0, -1));
  };
  const plain = async (): Promise<Token[]> => {
    await fresh();
    const output: Token[] = [];
    for await (const token of sequence.evaluate(prompt.slice(-1), { temperature: 0, yieldEogToken: true })) {
      output.push(token);
      if (output.length >= LENGTH) break;
    }
    return output;
  };
  const drafted = async (predicted: readonly Token[], stopAt = LENGTH, options: { draftMax?: number; replaceAt?: number } = {}) => {
    await fresh();
    const source = new PredictionDraft(predicted, { promptLength: prompt.length });
    const steps = new SpeculativeSteps({ sequence, prompt, source, maxTokens: LENGTH, draftMax: options.draftMax ?? 16, sampling: greedy, prior: 0.9, costs: gpuLike() });
    const output: Token[] = [];
    let replacement: Token[] | undefined;
    while (output.length < stopAt) {
      const next = await steps.next(replacement);
      replacement = undefined;
      if (next.done === true) break;
      if (output.length === options.replaceAt) {
        replacement = [predicted[0] as Token];
        output.push(predicted[0] as Token);
        continue;
      }
      output.push(next.value.token);
    }
    await steps.return();
    return { output, counts: steps.counts };
  };

  it("keeps whole drafts of an exact prediction, and the output equals plain decoding", async () => {
    const reference = await plain();
    const { output, counts } = await drafted(reference);
    assert.deepEqual(output, reference);
    assert.ok(counts.accepted >= LENGTH * 0.75, `accepted ${counts.accepted} of ${LENGTH}`);
    assert.ok(counts.accepted > LENGTH / 2, "more than one drafted token kept per step");
  });

  it("a wrong prediction changes nothing but the counts", async () => {
    const reference = await plain();
    const wrong = reference.map((token) => ((token + 11) % 1000) as Token);
    const { output, counts } = await drafted(wrong);
    assert.deepEqual(output, reference);
    assert.equal(counts.accepted, 0);
  });

  it("stopping early, or forcing a token, leaves only the output in the KV cache", async () => {
    const reference = await plain();
    const early = await drafted(reference, 21);
    assert.deepEqual(early.output, reference.slice(0, 21));
    // The cache holds the prompt and the output but its last token (not evaluated yet), as after plain decoding.
    assert.deepEqual(sequence.contextTokens, [...prompt, ...reference.slice(0, 20)]);

    const forced = await drafted(reference, 30, { replaceAt: 10 });
    assert.deepEqual(forced.output.slice(0, 10), reference.slice(0, 10));
    assert.equal(forced.output[10], reference[0]);
    assert.deepEqual(sequence.contextTokens, [...prompt, ...forced.output.slice(0, 29)]);
  });
});
