/**
 * Long prompts are tokenized in a worker process (tokenizer-task.ts, started on first use), within
 * the `tokenizeSeconds` limit: llama.cpp tokenizes synchronously, in time proportional to the text
 * and quadratic in the special-token strings it holds, which on the event loop would stall every
 * other request. Prompts up to `inlineTokenizeChars` are tokenized in place (prompt.ts).
 */
import { invalidRequest, ParleyError } from "../../domain/errors.ts";
import type { RequestLimits } from "../../domain/limits.ts";
import { TaskQueueFull, TaskTimeout, TaskWorker } from "../../util/task-worker.ts";
import type { Tokenizers } from "./prompt.ts";

const TOKENIZER_TASK = new URL("./tokenizer-task.ts", import.meta.url);

export class LongPromptTokenizer implements Tokenizers {
  readonly inlineChars: number;
  readonly #modelPath: string;
  readonly #seconds: number;
  #worker: TaskWorker<string, Uint32Array> | undefined;

  constructor(modelPath: string, limits: Pick<RequestLimits, "inlineTokenizeChars" | "tokenizeSeconds">) {
    this.inlineChars = limits.inlineTokenizeChars;
    this.#modelPath = modelPath;
    this.#seconds = limits.tokenizeSeconds;
  }

  /** `field`: what a time-limit failure names (default `messages`). */
  async tokenizeLong(text: string, field = "messages"): Promise<ArrayLike<number>> {
    this.#worker ??= new TaskWorker({ module: TOKENIZER_TASK, init: { modelPath: this.#modelPath }, isolation: "process", timeoutMs: this.#seconds * 1000, maxQueue: 8 });
    try {
      return await this.#worker.run(text);
    } catch (error) {
      if (error instanceof TaskTimeout)
        throw invalidRequest(`The ${field === "messages" ? "prompt" : `\`${field}\``} could not be tokenized within ${this.#seconds} s (limit tokenizeSeconds).`, [field], "too_complex");
      if (error instanceof TaskQueueFull) throw new ParleyError("server_busy", "Too many long prompts are waiting to be tokenized. Retry shortly.", { retryAfter: 1 });
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.#worker?.close();
  }
}
