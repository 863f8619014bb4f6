/**
 * The embedded llama.cpp engine: renders and tokenizes the prompt, checks it fits, then runs the
 * request's choices concurrently on the context's sequences (node-llama-cpp batches every active
 * sequence into the same decode step) and merges their events into one stream.
 */
import { createHash } from "node:crypto";
import type { Token } from "node-llama-cpp";
import type { ChatRequest } from "../../domain/chat.ts";
import { ParleyError } from "../../domain/errors.ts";
import type { ChatEvent } from "../../domain/events.ts";
import { AsyncQueue } from "../../util/async-queue.ts";
import type { ChatEngine, ModelInfo } from "../types.ts";
import { generateChoice, type ChoiceResult } from "./generate-choice.ts";
import type { ModelHost } from "./model-host.ts";
import { SequencePool } from "./sequence-pool.ts";
import { createTokenBias } from "./token-bias.ts";

export interface LlamaEngineOptions {
  /** The id clients send in `model`. */
  readonly modelId: string;
  /** Resolves to the loaded model; the engine reports not-ready until it does. */
  readonly host: Promise<ModelHost>;
  /** Requests allowed to wait for a slot before new ones get 429 (default 64). */
  readonly maxQueue?: number;
}

type Sequence = ReturnType<ModelHost["context"]["getSequence"]>;

export class LlamaEngine implements ChatEngine {
  readonly fingerprint: string;
  readonly #options: LlamaEngineOptions;
  readonly #created = Math.floor(Date.now() / 1000);
  readonly #shutdown = new AbortController();
  readonly #running = new Set<Promise<unknown>>();
  #host: ModelHost | undefined;
  #pool: SequencePool<Sequence> | undefined;
  #closing = false;

  constructor(options: LlamaEngineOptions) {
    this.#options = options;
    this.fingerprint = `fp_${createHash("sha256").update(`parley:${options.modelId}`).digest("hex").slice(0, 10)}`;
    options.host.then(
      (host) => {
        this.#host = host;
        const sequences = Array.from({ length: host.context.totalSequences }, () => host.context.getSequence());
        this.#pool = new SequencePool({ items: sequences, maxQueue: options.maxQueue ?? 64 });
      },
      () => undefined, // the server reports load failures; the engine just stays not ready
    );
  }

  listModels(): readonly ModelInfo[] {
    return [{ id: this.#options.modelId, created: this.#created, ownedBy: "parley" }];
  }

  isReady(): boolean {
    return this.#host !== undefined && !this.#closing;
  }

  async generate(request: ChatRequest, signal: AbortSignal): Promise<AsyncIterable<ChatEvent>> {
    const host = this.#host;
    const pool = this.#pool;
    if (host === undefined || pool === undefined || this.#closing) {
      throw new ParleyError("unavailable", this.#closing ? "The server is shutting down." : "The model is still loading.", { retryAfter: 1 });
    }
    const prompt = this.#tokenizePrompt(host, request);
    const room = host.contextSize - 1 - prompt.length;
    if (room < 1) {
      throw new ParleyError(
        "context_length_exceeded",
        `This model's maximum context length is ${host.contextSize} tokens. However, your messages resulted in ${prompt.length} tokens.`,
        { param: "messages", code: "context_length_exceeded" },
      );
    }
    for (const token of request.sampling.logitBias.keys()) {
      if (token >= host.vocabulary.size) {
        throw new ParleyError("invalid_request", `Invalid token id ${token} in logit_bias: the vocabulary has ${host.vocabulary.size} tokens.`, {
          param: "logit_bias",
          issues: [{ path: ["logit_bias", String(token)], message: "token id out of range", type: "invalid_value" }],
        });
      }
    }
    pool.admit();

    const events = new AsyncQueue<ChatEvent>();
    // One failing choice ends its siblings too: nobody will read their output.
    const failed = new AbortController();
    const stop = AbortSignal.any([signal, this.#shutdown.signal, failed.signal]);
    const tokenBias = createTokenBias(host.model, request.sampling.logitBias);
    const maxTokens = Math.min(request.maxTokens ?? room, room);
    const runChoice = async (index: number): Promise<ChoiceResult> => {
      const sequence = await pool.acquire(stop);
      try {
        const result = await generateChoice({
          model: host.model,
          vocabulary: host.vocabulary,
          sequence,
          prompt,
          maxTokens,
          stop: request.stop,
          sampling: request.sampling,
          seed: (request.sampling.seed + index) >>> 0,
          tokenBias,
          topLogprobs: request.logprobs ? request.topLogprobs : undefined,
          signal: stop,
          onDelta: (text, logprobs) => events.push({ type: "delta", choice: index, text, logprobs }),
        });
        if (result.reason !== "aborted") events.push({ type: "finish", choice: index, reason: result.reason });
        return result;
      } catch (error) {
        failed.abort(error);
        throw error;
      } finally {
        pool.release(sequence);
      }
    };

    const all = Promise.all(Array.from({ length: request.n }, (_, i) => runChoice(i)));
    this.#track(all);
    all.then(
      (results) => {
        // Stopped from outside (client gone, shutdown): the consumer learns why instead of a usage.
        if (stop.aborted) return events.close(stop.reason);
        events.push({
          type: "usage",
          usage: {
            promptTokens: prompt.length,
            completionTokens: results.reduce((sum, r) => sum + r.completionTokens, 0),
            cachedTokens: Math.min(...results.map((r) => r.cachedTokens)),
          },
        });
        events.close();
      },
      (error: unknown) => events.close(error),
    );
    return events;
  }

  async close(graceMs: number): Promise<void> {
    this.#closing = true;
    this.#pool?.close();
    const drained = Promise.allSettled([...this.#running]);
    const timer = new Promise((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([drained, timer]);
    this.#shutdown.abort(new ParleyError("unavailable", "The server is shutting down."));
    await drained;
    await this.#host?.dispose();
  }

  /** Renders the messages with the chat template and tokenizes, adding BOS when the model wants it. */
  #tokenizePrompt(host: ModelHost, request: ChatRequest): Token[] {
    const { bos, bosText, eosText, addBos } = host.specialTokens;
    const text = host.template.render(request.messages, { bosToken: bosText, eosToken: eosText, addGenerationPrompt: true });
    const tokens = host.model.tokenize(text, true);
    if (addBos && bos !== null && tokens[0] !== bos) tokens.unshift(bos as Token);
    return tokens;
  }

  #track(promise: Promise<unknown>): void {
    const settled = promise.then(
      () => undefined,
      () => undefined,
    );
    this.#running.add(settled);
    void settled.then(() => this.#running.delete(settled));
  }
}
