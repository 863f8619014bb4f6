/**
 * The embedded llama.cpp engine: renders and tokenizes the prompt, checks it fits, then runs the
 * request's choices concurrently on the context's sequences (node-llama-cpp batches every active
 * sequence into the same decode step) and merges their events into one stream.
 */
import { createHash } from "node:crypto";
import type { ChatRequest } from "../../domain/chat.ts";
import { ParleyError } from "../../domain/errors.ts";
import type { ChatEvent } from "../../domain/events.ts";
import { AsyncQueue } from "../../util/async-queue.ts";
import type { ChatEngine, Generation, ModelInfo } from "../types.ts";
import { ToolCallStream } from "../../chat/tools/tool-call-stream.ts";
import { generateChoice, type ChoiceResult } from "./generate-choice.ts";
import { GrammarCache } from "./grammar-cache.ts";
import { requestGrammar } from "./request-grammar.ts";
import type { ModelHost } from "./model-host.ts";
import { buildPrompt, checkLogitBias, checkTokenIds } from "./prompt.ts";
import { RequestTemplates } from "./request-templates.ts";
import { SequencePool, SHUTTING_DOWN } from "./sequence-pool.ts";

export interface LlamaEngineOptions {
  /** The id clients send in `model`. */
  readonly modelId: string;
  /** Resolves to the loaded model; the engine reports not-ready until it does. */
  readonly host: Promise<ModelHost>;
  /** Requests allowed to wait for a slot before new ones get 429 (default 64). */
  readonly maxQueue?: number;
  /**
   * `max_tokens` for requests that send none (default: none, i.e. the room left in the context,
   * as OpenAI does; OctoAI used 512).
   */
  readonly defaultMaxTokens?: number;
}

type Sequence = ReturnType<ModelHost["context"]["getSequence"]>;

export class LlamaEngine implements ChatEngine {
  readonly fingerprint: string;
  readonly #options: LlamaEngineOptions;
  readonly #created = Math.floor(Date.now() / 1000);
  /** Each running request's internal abort controller, for shutdown. */
  readonly #requests = new Set<AbortController>();
  readonly #running = new Set<Promise<unknown>>();
  #host: ModelHost | undefined;
  #grammars: GrammarCache | undefined;
  #templates: RequestTemplates | undefined;
  /** Slots per context: the base model's (key "") and each LoRA adapter's (its id). */
  #pools = new Map<string, SequencePool<Sequence>>();
  #closing = false;

  constructor(options: LlamaEngineOptions) {
    this.#options = options;
    this.fingerprint = `fp_${createHash("sha256").update(`parley:${options.modelId}`).digest("hex").slice(0, 10)}`;
    options.host.then(
      (host) => {
        this.#host = host;
        this.#grammars = new GrammarCache(host.llama);
        this.#templates = new RequestTemplates(host);
        for (const [id, context] of [["", host.context] as const, ...host.adapterContexts]) {
          const sequences = Array.from({ length: context.totalSequences }, () => context.getSequence());
          this.#pools.set(id, new SequencePool({ items: sequences, maxQueue: options.maxQueue ?? 64 }));
        }
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

  async generate(request: ChatRequest, signal: AbortSignal): Promise<Generation> {
    const host = this.#host;
    const templates = this.#templates;
    if (host === undefined || templates === undefined || this.#closing) {
      throw new ParleyError("unavailable", this.#closing ? SHUTTING_DOWN : "The model is still loading.", { retryAfter: 1 });
    }
    const pool = this.#pools.get(request.adapter ?? "");
    if (pool === undefined) {
      const known = [...host.adapterContexts.keys()];
      throw new ParleyError("not_found", `The LoRA adapter \`${request.adapter}\` is not registered on this server (${known.length === 0 ? "none is" : `registered: ${known.join(", ")}`}).`, { param: "peft", code: "adapter_not_found" });
    }
    const template = templates.resolve(request, signal);
    const prompt = await buildPrompt(host, request, template);
    checkLogitBias(request.sampling.logitBias, host.vocabulary.size);
    checkTokenIds(request.stopTokenIds, host.vocabulary.size, "stop_token_ids");
    const grammarRequest = requestGrammar(request, template.family.syntax);
    const compiled = grammarRequest === undefined ? undefined : await this.#grammars?.get(grammarRequest);
    // With tool_choice "none" the grammar alone keeps calls out: there is nothing to parse.
    const toolSyntax = request.tools !== undefined && request.tools.choice.kind !== "none" ? template.family.syntax : undefined;
    const echo = request.prompt.echo ? echoText(request) : "";
    const admission = pool.admit();

    const events = new AsyncQueue<ChatEvent>();
    // Aborted by a failing choice (nobody reads its siblings' output) or by shutdown.
    const internal = new AbortController();
    this.#requests.add(internal);
    const stop = AbortSignal.any([signal, internal.signal]);
    const maxTokens = Math.min(request.maxTokens ?? this.#options.defaultMaxTokens ?? Infinity, host.contextSize - 1 - prompt.length);
    const runChoice = async (index: number): Promise<ChoiceResult> => {
      const sequence = await pool.acquire(admission, stop);
      if (echo !== "") events.push({ type: "delta", choice: index, text: echo, logprobs: [] });
      // With tools, stop strings are matched on content only (by the tool-call stream).
      const calls = toolSyntax === undefined ? undefined : new ToolCallStream({ syntax: toolSyntax, choice: index, anchored: compiled?.anchored ?? false, stop: request.stop, includeStop: request.includeStopString });
      try {
        const result = await generateChoice({
          model: host.model,
          vocabulary: host.vocabulary,
          sequence,
          prompt,
          maxTokens,
          stop: calls === undefined ? request.stop : [],
          sampling: request.sampling,
          seed: (request.sampling.seed + index) >>> 0,
          logitBias: request.sampling.logitBias,
          grammar: compiled?.grammar,
          shownControl: !request.skipSpecialTokens ? "all" : calls === undefined ? undefined : template.markerTokens,
          includeStopString: request.includeStopString,
          stopTokenIds: request.stopTokenIds,
          ignoreEos: request.ignoreEos,
          eogTokens: host.eogTokens,
          minTokens: request.minTokens,
          spacesBetweenSpecial: request.spacesBetweenSpecialTokens,
          topLogprobs: request.logprobs ? request.topLogprobs : undefined,
          signal: stop,
          onDelta:
            calls === undefined
              ? (text, logprobs) => {
                  events.push({ type: "delta", choice: index, text, logprobs });
                }
              : (text, logprobs, stopsActive) => {
                  const step = calls.push(text, logprobs, stopsActive);
                  step.events.forEach((event) => events.push(event));
                  return step.stopped;
                },
        });
        if (result.reason === "aborted") return result;
        calls?.finish().forEach((event) => events.push(event));
        events.push({ type: "finish", choice: index, reason: calls?.finishReason(result.reason) ?? result.reason });
        return result;
      } catch (error) {
        internal.abort(error);
        throw error;
      } finally {
        pool.release(sequence);
      }
    };

    // allSettled, not all: the request is over only when every choice has given its slot back.
    const settled = Promise.allSettled(Array.from({ length: request.n }, (_, i) => runChoice(i)));
    this.#running.add(settled);
    void settled.then((outcomes) => {
      this.#running.delete(settled);
      this.#requests.delete(internal);
      const failure = outcomes.find((o) => o.status === "rejected");
      // Stopped from outside (client gone, shutdown) or failed: the consumer learns why.
      if (stop.aborted || failure !== undefined) return events.close(stop.aborted ? stop.reason : failure?.reason);
      const results = outcomes.flatMap((o) => (o.status === "fulfilled" ? [o.value] : []));
      events.push({
        type: "usage",
        usage: {
          promptTokens: prompt.length,
          completionTokens: results.reduce((sum, r) => sum + r.completionTokens, 0),
          cachedTokens: Math.min(...results.map((r) => r.cachedTokens)),
        },
      });
      events.close();
    });
    return { events, warnings: compiled?.warnings ?? [] };
  }

  async close(graceMs: number): Promise<void> {
    this.#closing = true;
    for (const pool of this.#pools.values()) pool.close();
    const drained = Promise.allSettled([...this.#running]);
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([drained, graceOver]);
    clearTimeout(timer);
    for (const request of this.#requests) request.abort(new ParleyError("unavailable", SHUTTING_DOWN));
    await drained;
    await this.#templates?.close();
    await this.#host?.dispose();
  }
}

/** vLLM `echo`: the final message's content, when the final message is the assistant's. */
function echoText(request: ChatRequest): string {
  const final = request.messages.at(-1);
  return final?.role === "assistant" ? final.content : "";
}
