/**
 * The kinds of engine a model spec can name (`kind` in config-file.ts's `ModelSpec`), each with
 * the one function that builds its engine from a spec and the server's settings. The server
 * (server-models.ts) builds every engine through `createEngine`, loads it with `load()` and prints
 * its `describe()` banner, so a new kind is one folder implementing the contract (types.ts), its
 * spec in the config file, and one entry here — with no edit to the server.
 */
import { definedOnly, type LocalModelSpec, type ModelSpec, type UpstreamModelSpec } from "../config/config-file.ts";
import type { ModelPlacement } from "../config/placement.ts";
import type { Config } from "../config/config.ts";
import { TEST_MODEL_SOURCE } from "../config/defaults.ts";
import { ensureTestModel } from "../testing/test-model.ts";
import type { Logger } from "../util/logger.ts";
import { autoKindEngine, type ModelPath } from "./llama/auto-kind-engine.ts";
import { LlamaEmbeddingEngine } from "./llama/embed-engine.ts";
import { LlamaEngine } from "./llama/engine.ts";
import { resolveModelSource } from "./llama/model-source.ts";
import type { ChatEngine } from "./types.ts";
import { UpstreamEngine } from "./upstream/engine.ts";

/** What an engine may use from the server beyond its spec and settings. */
export interface EngineDeps {
  /** The server's logger, once it exists (engines are built before the HTTP app). */
  readonly logger: () => Logger | undefined;
  /** Hears a remote model's download progress (default: only the log shows it). */
  readonly onDownload?: (progress: { readonly receivedBytes: number; readonly totalBytes?: number }) => void;
}

/** One kind of engine: builds an engine for a spec of its kind (nothing is loaded yet). */
export interface EngineKind<S extends ModelSpec> {
  readonly kind: S["kind"];
  create(spec: S, config: Config, deps: EngineDeps): ChatEngine;
}

/**
 * A local GGUF run in-process by llama.cpp; the model's own settings win over the flags'. Its
 * `kind` (`modelKind`) picks the chat or the embedding engine; without one, the file decides when
 * it loads (auto-kind-engine.ts) — except the built-in test model, a chat model by construction.
 */
const local: EngineKind<LocalModelSpec> = {
  kind: "local",
  create(spec, config, deps) {
    const path = sourcePath(spec.source, config, deps);
    if (spec.modelKind === "embedding") return embeddingEngine(spec, config, deps, path);
    if (spec.modelKind === "chat" || spec.source === TEST_MODEL_SOURCE) return chatEngine(spec, config, deps, path);
    return autoKindEngine({
      modelId: spec.id,
      path,
      create(kind, resolved, detected) {
        if (kind === "chat") return chatEngine(spec, config, deps, resolved);
        if (spec.lora.length > 0 || spec.chatTemplateFile !== undefined || spec.draftModel !== undefined) {
          throw new Error(
            `model \`${spec.id}\` is an embedding model (${detected.reason}), which takes no LoRA adapters, chat template or draft model; set \`kind: chat\` in its config entry to serve it as a chat model`,
          );
        }
        return embeddingEngine(spec, config, deps, resolved);
      },
    });
  },
};

function embeddingEngine(spec: LocalModelSpec, config: Config, { logger }: EngineDeps, path: ModelPath): ChatEngine {
  return new LlamaEmbeddingEngine({
    modelId: spec.id,
    // One context per input evaluated at once: `parallel` only when the model sets it (default 1, see embed-host.ts).
    model: {
      path,
      contextSize: spec.ctxSize ?? config.ctxSize,
      parallel: spec.parallel,
      threads: spec.threads ?? config.threads,
      verbose: config.verbose,
      placement: placementOf(spec, config),
      gpu: config.gpu,
    },
    matryoshka: spec.matryoshka ?? false,
    maxQueue: config.queueSize,
    queueTimeoutMs: config.queueTimeout * 1000,
    limits: config.limit,
    logger,
  });
}

/** Resolves a local model's source (`--model`, a config entry's path/hf/url, a `--draft-model`) to a file, downloading it if needed. */
function sourcePath(source: string, config: Config, deps: EngineDeps): ModelPath {
  const cache = config.cacheDir === undefined ? {} : { cacheDir: config.cacheDir };
  return async (signal?: AbortSignal) =>
    source === TEST_MODEL_SOURCE
      ? ensureTestModel(cache)
      : (
          await resolveModelSource(source, {
            ...cache,
            showProgress: true,
            onProgress: ({ downloadedBytes, totalBytes }) => deps.onDownload?.({ receivedBytes: downloadedBytes, ...(totalBytes > 0 ? { totalBytes } : {}) }),
            ...(signal === undefined ? {} : { signal }),
          })
        ).path;
}

function chatEngine(spec: LocalModelSpec, config: Config, deps: EngineDeps, path: ModelPath): ChatEngine {
  const { logger } = deps;
  return new LlamaEngine({
    modelId: spec.id,
    model: {
      path,
      chatTemplateFile: spec.chatTemplateFile,
      contextSize: spec.ctxSize ?? config.ctxSize,
      parallel: spec.parallel ?? config.parallel,
      threads: spec.threads ?? config.threads,
      batchSize: spec.batchSize ?? config.batchSize,
      adapters: spec.lora,
      verbose: config.verbose,
      placement: placementOf(spec, config),
      gpu: config.gpu,
      promptCache: { ramBytes: config.promptCacheRam, dir: config.promptCacheDir },
      drafting: { ngram: config.draftNgram, draftMax: config.draftMax, draftMin: config.draftMin, pMin: config.draftPMin },
      ...(spec.draftModel === undefined ? {} : { draftModel: sourcePath(spec.draftModel, config, deps) }),
    },
    maxQueue: config.queueSize,
    queueTimeoutMs: config.queueTimeout * 1000,
    requestTimeoutMs: config.requestTimeout * 1000,
    stepTimeoutMs: config.stepTimeout * 1000,
    limits: config.limit,
    reasoning: { reasoningFormat: config.reasoningFormat, reasoningBudget: config.reasoningBudget },
    logger,
    ...(config.defaultMaxTokens === undefined ? {} : { defaultMaxTokens: config.defaultMaxTokens }),
  });
}

/** The model's placement settings over the flags' (`--gpu-layers`, `--flash-attn`, …). */
function placementOf(spec: LocalModelSpec, config: Config): ModelPlacement {
  const flags = definedOnly<ModelPlacement>({
    gpuLayers: config.gpuLayers,
    flashAttention: config.flashAttn,
    kvCacheType: config.kvCacheType,
    mlock: config.mlock,
    mmap: config.noMmap === true ? false : undefined,
  });
  return { ...flags, ...spec.placement };
}

/** An OpenAI-compatible server Parley forwards to; the server's queue rules apply unless it sets its own. */
const upstream: EngineKind<UpstreamModelSpec> = {
  kind: "upstream",
  create(spec, config, { logger }) {
    return new UpstreamEngine({ maxQueue: config.queueSize, queueTimeoutMs: config.queueTimeout * 1000, ...spec.options }, { logger });
  },
};

/** Every kind, by the `kind` its specs carry. */
export const ENGINE_KINDS: { readonly [K in ModelSpec["kind"]]: EngineKind<Extract<ModelSpec, { kind: K }>> } = { local, upstream };

/** The engine for `spec`, built by its kind's entry. */
export function createEngine(spec: ModelSpec, config: Config, deps: EngineDeps): ChatEngine {
  const kind = ENGINE_KINDS[spec.kind] as EngineKind<ModelSpec>;
  return kind.create(spec, config, deps);
}
