/**
 * The test model loaded in the test process itself, to compute expected values independently of
 * the server: the next-token distribution after any token sequence, from a fresh evaluation.
 */
import { getLlama, type ControlledEvaluateInputItem, type LlamaContext, type LlamaModel, type Token } from "node-llama-cpp";
import { ensureTestModel, TEST_MODEL_SPECIAL_TOKENS } from "../../src/testing/test-model.ts";

export interface ReferenceModel {
  readonly model: LlamaModel;
  /** BOS + the tokens of `text` (special tokens parsed), as Parley builds a prompt from a template that writes no BOS. */
  promptTokens(text: string): Token[];
  /** The model's untempered, untruncated probabilities for the token after `tokens`. */
  nextProbabilities(tokens: readonly number[]): Promise<Map<number, number>>;
  close(): Promise<void>;
}

export async function openReferenceModel(): Promise<ReferenceModel> {
  const llama = await getLlama({ gpu: false });
  const model = await llama.loadModel({ modelPath: await ensureTestModel() });
  const context: LlamaContext = await model.createContext({ contextSize: 512, threads: 1 });
  const sequence = context.getSequence();
  return {
    model,
    promptTokens: (text) => [TEST_MODEL_SPECIAL_TOKENS.bos.id as Token, ...model.tokenize(text, true)],
    async nextProbabilities(tokens) {
      await sequence.clearHistory();
      const last: ControlledEvaluateInputItem = [tokens.at(-1) as Token, { generateNext: { probabilities: true, options: { temperature: 1, topK: 0, topP: 1, minP: 0 } } }];
      const outputs = await sequence.controlledEvaluate([...(tokens.slice(0, -1) as Token[]), last]);
      return new Map(outputs[tokens.length - 1]?.next.probabilities ?? []);
    },
    async close() {
      await context.dispose();
      await model.dispose();
    },
  };
}
