/**
 * Loads a GGUF with node-llama-cpp: the llama.cpp binding, the model, one context with a sequence
 * per slot (each context with its batch scheduler, see batch-scheduler.ts), the vocabulary's exact
 * bytes, and the chat templates (model-templates.ts). Owns their disposal. The model's placement
 * (GPU layers, flash attention, KV cache type, mlock/mmap: placement-options.ts) applies to the
 * model and to every context, the LoRA adapters' included; `placement` then says where it runs.
 */
import { readFile } from "node:fs/promises";
import type { Llama, LlamaContext, LlamaModel } from "node-llama-cpp";
import { BatchScheduler } from "./batch-scheduler.ts";
import { BatchStats } from "./batch-stats.ts";
import { guardDecoding } from "./decode-guard.ts";
import { acquireLlama } from "./llama-runtime.ts";
import { isSingleToken, loadModelTemplates, type ModelTemplates } from "./model-templates.ts";
import { defaultThreads } from "./threads.ts";
import type { LoraSpec } from "../../config/lora-spec.ts";
import type { GpuBackend, ModelPlacement } from "../../config/placement.ts";
import type { ModelPlacementInfo } from "../types.ts";
import { placementInfo } from "./memory-estimate.ts";
import { checkKvCacheType, contextPlacementOptions, headSizes, modelLoadOptions } from "./placement-options.ts";
import type { Logger } from "../../util/logger.ts";
import { createTokenBias } from "./token-bias.ts";
import { DraftCounter, type DraftSettings } from "./drafting.ts";
import { DraftModel } from "./draft-model.ts";
import { resolveSpecialTokens, type GgufTokenizerMetadata, type SpecialTokens } from "./special-tokens.ts";
import { Vocabulary } from "./vocabulary.ts";

export interface ModelHostOptions {
  /** Local path of the GGUF file. */
  readonly modelPath: string;
  /** Tokens of context per slot (default: the model's training context, at most 4096). */
  readonly contextSize?: number;
  /** Concurrent sequences (slots) in the context (default 4). */
  readonly parallel?: number;
  /** CPU threads for evaluation (default: `defaultThreads(llama.cpuMathCores)`, see threads.ts). */
  readonly threads?: number;
  /** Tokens per decode batch (default: node-llama-cpp's, 512). */
  readonly batchSize?: number;
  /** Jinja source overriding the GGUF's chat template (`--chat-template-file`). */
  readonly chatTemplate?: string;
  /**
   * LoRA adapters requests may select (`peft`). Each gets its own context, with as many sequences
   * as the base one, created at load so a bad adapter fails the start (default none).
   */
  readonly adapters?: readonly LoraSpec[];
  /** Forward llama.cpp's informational messages too, not only warnings (default false). */
  readonly verbose?: boolean;
  /** GPU layers, flash attention, KV cache type, mlock/mmap (default: each one's default, config/placement.ts). */
  readonly placement?: ModelPlacement;
  /** The process's GPU backend (`--gpu`; default: the binding's, see llama-runtime.ts). */
  readonly gpu?: GpuBackend;
  /** Speculative decoding settings for the slots (`--draft-ngram`, `--draft-max`, `--draft-min`; default: a `prediction` only, see speculative-steps.ts). */
  readonly drafting?: DraftSettings;
  /** A draft model's local path (`--draft-model`; default none, see draft-model.ts). */
  readonly draftModelPath?: string;
  readonly logger: Logger;
}

export interface ModelHost {
  /** The GGUF file's local path. */
  readonly modelPath: string;
  readonly llama: Llama;
  readonly model: LlamaModel;
  readonly context: LlamaContext;
  /** One context per registered LoRA adapter, by adapter id. */
  readonly adapterContexts: ReadonlyMap<string, LlamaContext>;
  readonly vocabulary: Vocabulary;
  readonly specialTokens: SpecialTokens;
  /** The model's chat templates, with the tool family and reasoning format of each. */
  readonly templates: ModelTemplates;
  /** The model's end-of-generation tokens (EOS, EOT, …), as llama.cpp names them. */
  readonly eogTokens: ReadonlySet<number>;
  /** Tokens each sequence can hold. */
  readonly contextSize: number;
  /** CPU threads used for evaluation. */
  readonly threads: number;
  /** Whether the model has fill-in-the-middle tokens (prefix, suffix and middle), for `suffix`. */
  readonly fillInTheMiddle: boolean;
  /** Decode batches dispatched on this model's contexts, the LoRA adapters' included. */
  readonly batchStats: BatchStats;
  /** Where it runs: device, layers offloaded, flash attention, KV cache type, memory. */
  readonly placement: ModelPlacementInfo;
  /** Speculative decoding settings of the choices on this model (drafting.ts; absent: defaults). */
  readonly drafting?: DraftSettings;
  /** The draft model (`--draft-model`), with a sequence for each slot of `context`. */
  readonly draft?: DraftModel;
  /** Drafted tokens kept and discarded on this model, every draft source together. */
  readonly drafts: DraftCounter;
  dispose(): Promise<void>;
}

export async function loadModelHost(options: ModelHostOptions): Promise<ModelHost> {
  const { logger } = options;
  const phases = new PhaseTimer();
  // the binding is shared and usually already loading (llama-runtime.ts)
  const { llama, release } = await acquireLlama({ logger, verbose: options.verbose === true, gpu: options.gpu });
  phases.mark("binding");
  const placement = options.placement ?? {};
  const model = await llama.loadModel({ modelPath: options.modelPath, ...modelLoadOptions(placement) }).catch((error: unknown) => {
    release();
    throw error;
  });
  phases.mark("model");
  // A failure from here on frees what was loaded (the model takes its contexts with it).
  try {
    // node-llama-cpp has read the GGUF's metadata to load it: reading it again would cost as much
    const metadata = model.fileInfo.metadata as unknown as {
      tokenizer?: { ggml?: GgufTokenizerMetadata; chat_template?: string };
      general?: { architecture?: string };
    };
    const architecture = metadata.general?.architecture ?? "llama";
    const trained = (metadata as Record<string, { context_length?: number } | undefined>)[architecture]?.context_length;
    // logit_bias relies on a node-llama-cpp internal (token-bias.ts): fail at start, not per request.
    createTokenBias(model, new Map([[0, 1]]));
    const threads = options.threads ?? defaultThreads(llama.cpuMathCores);
    const contextSize = options.contextSize ?? Math.min(trained ?? 4096, 4096);
    checkKvCacheType(placement, { flashAttentionSupported: model.flashAttentionSupported, ...headSizes(model.fileInfo.architectureMetadata as Parameters<typeof headSizes>[0]) });
    const contextOptions = {
      contextSize,
      sequences: options.parallel ?? 4,
      threads,
      ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
      ...contextPlacementOptions(placement),
    };
    const batchStats = new BatchStats();
    const scheduler = new BatchScheduler({ stats: batchStats });
    // llama.cpp creates the context on its own thread: decode the vocabulary meanwhile
    const creating = model.createContext({ ...contextOptions, batching: scheduler.batching });
    creating.catch(() => undefined); // awaited below; a failure there is the one reported
    const tokenizer = metadata.tokenizer?.ggml ?? {};
    const specialTokens = resolveSpecialTokens(tokenizer, model);
    const vocabulary = new Vocabulary({
      model: tokenizer.model ?? "",
      tokens: tokenizer.tokens ?? [],
      tokenTypes: tokenizer.token_type,
      detokenize: (token) => model.detokenize([token as never], true),
      specialTokenIds: specialTokens.ids,
    });
    phases.mark("vocabulary");
    const context = await creating;
    phases.mark("context");
    scheduler.attach(context);
    guardDecoding(context);
    const adapterContexts = new Map<string, LlamaContext>();
    for (const adapter of options.adapters ?? []) {
      const adapterScheduler = new BatchScheduler({ stats: batchStats });
      const created = await model
        .createContext({ ...contextOptions, batching: adapterScheduler.batching, lora: { adapters: [{ filePath: adapter.path, scale: adapter.scale }] } })
        .catch((error: unknown) => {
          throw new Error(`LoRA adapter "${adapter.id}" (${adapter.path}) could not be loaded for this model: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
        });
      adapterScheduler.attach(created);
      guardDecoding(created);
      adapterContexts.set(adapter.id, created);
    }

    const draft =
      options.draftModelPath === undefined
        ? undefined
        : await DraftModel.load(llama, model, { path: options.draftModelPath, contextSize: context.contextSize, sequences: context.totalSequences, threads, placement });
    if (draft !== undefined) phases.mark("draft model");
    const templates = loadModelTemplates({
      override: options.chatTemplate,
      metadata: metadata.tokenizer as Record<string, unknown> | undefined,
      isToken: isSingleToken(model),
      logger,
    });
    const eogTokens = endOfGenerationTokens(model, vocabulary.size);
    phases.mark("templates");
    const where = await placementInfo({
      model,
      contexts: { count: 1 + adapterContexts.size, contextSize: context.contextSize, sequences: context.totalSequences, batchSize: context.batchSize, embedding: false },
      flashAttention: context.flashAttention,
      placement,
      adapters: options.adapters ?? [],
      ...(draft === undefined ? {} : { draftModelPath: draft.path }),
    });
    phases.mark("placement");
    logger.debug({ phasesMs: phases.durations() }, `model loaded in ${phases.total()} ms`);

    return {
      modelPath: options.modelPath,
      llama,
      model,
      context,
      adapterContexts,
      vocabulary,
      specialTokens,
      templates,
      eogTokens,
      contextSize: context.contextSize,
      threads,
      fillInTheMiddle: hasInfillTokens(model),
      batchStats,
      placement: where,
      ...(options.drafting === undefined ? {} : { drafting: options.drafting }),
      ...(draft === undefined ? {} : { draft }),
      drafts: new DraftCounter(),
      async dispose() {
        await draft?.dispose();
        for (const adapterContext of adapterContexts.values()) await adapterContext.dispose();
        await context.dispose();
        await model.dispose();
        release(); // the binding stays, shared (llama-runtime.ts)
      },
    };
  } catch (error) {
    await model.dispose().catch(() => undefined);
    release();
    throw error;
  }
}

/** Milliseconds between marks, for the load's debug log (`bench/startup.ts` reads it). */
class PhaseTimer {
  readonly #start = performance.now();
  #last = this.#start;
  readonly #phases: Record<string, number> = {};
  mark(phase: string): void {
    const now = performance.now();
    this.#phases[phase] = Math.round(now - this.#last);
    this.#last = now;
  }
  durations(): Record<string, number> {
    return { ...this.#phases };
  }
  total(): number {
    return Math.round(this.#last - this.#start);
  }
}

/** Whether the GGUF names the three fill-in-the-middle tokens. */
function hasInfillTokens(model: LlamaModel): boolean {
  const { prefix, suffix, middle } = model.tokens.infill;
  return prefix !== null && suffix !== null && middle !== null;
}

/** Every token llama.cpp treats as end of generation, found once at load. */
function endOfGenerationTokens(model: LlamaModel, size: number): Set<number> {
  const tokens = new Set<number>();
  for (let id = 0; id < size; id++) if (model.isEogToken(id as never)) tokens.add(id);
  return tokens;
}

/** Reads a `--chat-template-file`. */
export async function readChatTemplateFile(path: string): Promise<string> {
  return readFile(path, "utf8");
}
