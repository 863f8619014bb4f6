/**
 * Loads a GGUF as an embedding model with node-llama-cpp: the shared llama.cpp binding, the model,
 * and `parallel` embedding contexts (`model.createEmbeddingContext`), each evaluating one input at
 * a time. node-llama-cpp 3.22 reads a pooled vector of its context's first sequence only
 * (`getEmbedding` → `llama_get_embeddings_seq(ctx, 0)`), so several inputs cannot share one decode
 * of one context: inputs run side by side on separate contexts instead. Owns their disposal.
 *
 * How the vector is pooled is the GGUF's `<arch>.pooling_type` (llama.cpp reads it for every
 * architecture): mean, CLS (first token), last token; without one (a generative model declared
 * `kind: embedding`) llama.cpp returns the last token's hidden state.
 *
 * The placement (placement-options.ts) is the model's: embedding contexts take no flash-attention
 * or KV-cache options of their own, so they inherit the model's defaults, set from it at load.
 */
import type { LlamaEmbeddingContext, LlamaModel } from "node-llama-cpp";
import type { GpuBackend, ModelPlacement } from "../../config/placement.ts";
import type { Logger } from "../../util/logger.ts";
import type { ModelPlacementInfo } from "../types.ts";
import { acquireLlama } from "./llama-runtime.ts";
import { placementInfo } from "./memory-estimate.ts";
import { checkKvCacheType, headSizes, modelLoadOptions } from "./placement-options.ts";
import { defaultThreads } from "./threads.ts";

/** How llama.cpp pools token states into one vector (`enum llama_pooling_type`). */
export type PoolingType = "none" | "mean" | "cls" | "last" | "rank";

const POOLING_NAMES: readonly PoolingType[] = ["none", "mean", "cls", "last", "rank"];

export interface EmbedHostOptions {
  /** Local path of the GGUF file. */
  readonly modelPath: string;
  /** Tokens one input may hold, special tokens included (default: the model's training context, at most 4096). */
  readonly contextSize?: number;
  /** Embedding contexts, i.e. inputs evaluated at once (default 1). */
  readonly parallel?: number;
  /** CPU threads per context (default: `defaultThreads(llama.cpuMathCores)`, see threads.ts). */
  readonly threads?: number;
  /** Forward llama.cpp's informational messages too (default false). */
  readonly verbose?: boolean;
  /** GPU layers, flash attention, KV cache type, mlock/mmap (default: each one's default, config/placement.ts). */
  readonly placement?: ModelPlacement;
  /** The process's GPU backend (`--gpu`; default: the binding's, see llama-runtime.ts). */
  readonly gpu?: GpuBackend;
  readonly logger: Logger;
}

export interface EmbedHost {
  readonly modelPath: string;
  readonly model: LlamaModel;
  /** The contexts inputs are evaluated on, one input each at a time. */
  readonly contexts: readonly LlamaEmbeddingContext[];
  /** The GGUF's pooling (`none` when it names none). */
  readonly pooling: PoolingType;
  /** Length of the vectors (n_embd). */
  readonly dimensions: number;
  /** Tokens a context holds: an input may have one fewer (node-llama-cpp's rule). */
  readonly contextSize: number;
  /** Tokens of the vocabulary, for token-id inputs. */
  readonly vocabularySize: number;
  readonly threads: number;
  /** Where it runs: device, layers offloaded, flash attention, KV cache type, memory. */
  readonly placement: ModelPlacementInfo;
  dispose(): Promise<void>;
}

export async function loadEmbedHost(options: EmbedHostOptions): Promise<EmbedHost> {
  const { llama, release } = await acquireLlama({ logger: options.logger, verbose: options.verbose === true, gpu: options.gpu });
  const placement = options.placement ?? {};
  const model = await llama.loadModel({ modelPath: options.modelPath, ...modelLoadOptions(placement) }).catch((error: unknown) => {
    release();
    throw error;
  });
  const contexts: LlamaEmbeddingContext[] = [];
  try {
    const metadata = model.fileInfo.metadata as unknown as Record<string, { pooling_type?: number; context_length?: number } | undefined> & {
      general?: { architecture?: string };
      tokenizer?: { ggml?: { tokens?: readonly string[] } };
    };
    const architecture = metadata.general?.architecture ?? "llama";
    const arch = metadata[architecture];
    const pooling = POOLING_NAMES[arch?.pooling_type ?? 0] ?? "none";
    if (pooling === "rank") throw new Error(`${options.modelPath} is a reranking model (pooling_type rank), not an embedding model`);
    checkKvCacheType(placement, { flashAttentionSupported: model.flashAttentionSupported, ...headSizes(model.fileInfo.architectureMetadata as Parameters<typeof headSizes>[0]) });
    const threads = options.threads ?? defaultThreads(llama.cpuMathCores);
    const contextSize = options.contextSize ?? Math.min(arch?.context_length ?? 4096, 4096);
    // The whole input is one batch: non-causal models (BERT) pool over a single micro-batch.
    for (let i = 0; i < (options.parallel ?? 1); i++) contexts.push(await model.createEmbeddingContext({ contextSize, batchSize: contextSize, threads }));
    return {
      modelPath: options.modelPath,
      model,
      contexts,
      pooling,
      dimensions: model.embeddingVectorSize,
      contextSize,
      vocabularySize: metadata.tokenizer?.ggml?.tokens?.length ?? 0,
      threads,
      placement: await placementInfo({
        model,
        contexts: { count: contexts.length, contextSize, sequences: 1, batchSize: contextSize, embedding: true },
        flashAttention: model.defaultContextFlashAttention,
        placement,
      }),
      async dispose() {
        for (const context of contexts) await context.dispose();
        await model.dispose();
        release();
      },
    };
  } catch (error) {
    for (const context of contexts) await context.dispose().catch(() => undefined);
    await model.dispose().catch(() => undefined);
    release();
    throw error;
  }
}
