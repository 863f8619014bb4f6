/**
 * Tokenization in a worker process (util/task-worker.ts, process isolation): llama.cpp tokenizes
 * synchronously, in time proportional to the text (and quadratic in the number of special-token
 * strings it holds), so long prompts are tokenized here, where a time budget can stop it, rather
 * than on the server's event loop. The process loads the model's vocabulary only.
 */
import { getLlama, LlamaLogLevel, type LlamaModel } from "node-llama-cpp";

let model: LlamaModel | undefined;

export async function init({ modelPath }: { readonly modelPath: string }): Promise<void> {
  const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, logger: () => undefined });
  model = await llama.loadModel({ modelPath, vocabOnly: true });
}

/** The text's tokens, special-token strings included (as the engine's own tokenize(text, true)). */
export function handle(text: string): Uint32Array {
  if (model === undefined) throw new Error("the tokenizer was not initialised");
  return Uint32Array.from(model.tokenize(text, true));
}
