/**
 * Model name → engine. Pure lookup logic: the HTTP layer asks it which engine serves a request.
 * Aliases are other names for a model's id: they select the same engine, and `/v1/models` lists
 * them after the ids (same `created` and `owned_by` as their model), so clients can discover them.
 */
import { ParleyError } from "../domain/errors.ts";
import type { ChatEngine, DecodeBatchStats, DraftTotals, EngineStats, ModelInfo, PromptCacheStats } from "../engines/types.ts";
import { addPromptCacheStats } from "../engines/prompt-cache-stats.ts";
import { ManagedModel } from "./managed-model.ts";
import { ModelPool } from "./model-pool.ts";

export interface RouterOptions {
  /** Alias → the model id it stands for (default: none). Aliases may not reuse an id or another alias. */
  readonly aliases?: ReadonlyMap<string, string>;
  /** The pool the local models (ManagedModel engines) share, for its events and budget (default: a pool of its own). */
  readonly pool?: ModelPool;
}

export class Router {
  readonly #engines: readonly ChatEngine[];
  /** Ids and aliases → the engine and the model (an alias's model info carries the alias as its id). */
  readonly #byName = new Map<string, { readonly engine: ChatEngine; readonly info: ModelInfo }>();
  readonly #aliases: readonly ModelInfo[];
  readonly #canonical = new Map<string, string>();
  /** Load, unload and status events of the local models. */
  readonly pool: ModelPool;

  constructor(engines: readonly ChatEngine[], options: RouterOptions = {}) {
    this.#engines = engines;
    this.pool = options.pool ?? new ModelPool();
    for (const engine of engines) {
      for (const model of engine.describe().models) {
        if (this.#byName.has(model.id)) throw new Error(`Model id "${model.id}" is served twice`);
        this.#byName.set(model.id, { engine, info: model });
      }
    }
    const aliases: ModelInfo[] = [];
    for (const [alias, id] of options.aliases ?? []) {
      const target = this.#byName.get(id);
      if (target === undefined || target.info.id !== id) throw new Error(`Alias "${alias}" names "${id}", which is no model id`);
      if (this.#byName.has(alias)) throw new Error(`Alias "${alias}" is already a model id or alias`);
      const info = { ...target.info, id: alias };
      this.#canonical.set(alias, id);
      this.#byName.set(alias, { engine: target.engine, info });
      aliases.push(info);
    }
    this.#aliases = aliases;
  }

  /** Whether `name` is a served model's id or alias. */
  has(name: string): boolean {
    return this.#byName.has(name);
  }

  /** The model id a name stands for (an id itself, or an alias's model); the name itself if unknown. */
  canonical(name: string): string {
    return this.#canonical.get(name) ?? name;
  }

  /** The engine serving `model` (an id or an alias); 404 `model_not_found` otherwise. */
  resolve(model: string): ChatEngine {
    return this.model(model).engine;
  }

  /**
   * The engine and model info for an id or alias, as the engine describes the model now (its
   * formats appear once it has loaded), under the name asked for; 404 `model_not_found` otherwise.
   */
  model(name: string): { readonly engine: ChatEngine; readonly info: ModelInfo } {
    const entry = this.#byName.get(name);
    if (entry === undefined) {
      throw new ParleyError("model_not_found", `The model \`${name}\` does not exist or you do not have access to it.`, {
        param: "model",
        code: "model_not_found",
      });
    }
    const id = this.canonical(name);
    const now = entry.engine.describe().models.find((model) => model.id === id);
    return { engine: entry.engine, info: now === undefined ? entry.info : { ...now, id: name } };
  }

  /** Every model id, then every alias, as their engines describe them now. */
  listModels(): ModelInfo[] {
    return [...this.#engines.flatMap((engine) => engine.describe().models), ...this.#aliases.map((alias) => this.model(alias.id).info)];
  }

  /**
   * The local model an id or alias names, for loading and unloading on request; 404 if unknown,
   * 400 for an upstream model (Parley does not load those).
   */
  managed(name: string): ManagedModel {
    const { engine } = this.model(name);
    if (engine instanceof ManagedModel) return engine;
    throw new ParleyError("invalid_request", `The model \`${name}\` is served by an upstream server: Parley does not load or unload it.`, { param: "model", code: "model_not_supported" });
  }

  /** Every local model Parley loads and unloads itself. */
  managedModels(): ManagedModel[] {
    return this.#engines.filter((engine) => engine instanceof ManagedModel);
  }

  isReady(): boolean {
    return this.#engines.every((engine) => engine.isReady());
  }

  /** Every engine's load, summed (engines that keep no stats count as idle). */
  stats(): EngineStats {
    let queued = 0;
    let active = 0;
    let slots = 0;
    let held = 0;
    let reclaimed = 0;
    let batches: DecodeBatchStats | undefined;
    let promptCache: PromptCacheStats | undefined;
    let drafts: DraftTotals | undefined;
    for (const stats of this.#engines.map((engine) => engine.stats?.())) {
      if (stats === undefined) continue;
      queued += stats.queued;
      active += stats.active;
      slots += stats.slots;
      held += stats.held ?? 0;
      reclaimed += stats.reclaimed ?? 0;
      promptCache = addPromptCacheStats(promptCache, stats.promptCache);
      if (stats.drafts !== undefined) drafts = { accepted: (drafts?.accepted ?? 0) + stats.drafts.accepted, rejected: (drafts?.rejected ?? 0) + stats.drafts.rejected };
      if (stats.batches !== undefined) {
        const b = stats.batches;
        batches = {
          batches: (batches?.batches ?? 0) + b.batches,
          multiSequenceBatches: (batches?.multiSequenceBatches ?? 0) + b.multiSequenceBatches,
          sequences: (batches?.sequences ?? 0) + b.sequences,
          tokens: (batches?.tokens ?? 0) + b.tokens,
        };
      }
    }
    return {
      queued,
      active,
      slots,
      held,
      reclaimed,
      ...(batches === undefined ? {} : { batches }),
      ...(promptCache === undefined ? {} : { promptCache }),
      ...(drafts === undefined ? {} : { drafts }),
    };
  }

  /** Closes every engine (each stops accepting, waits up to `graceMs` for running requests, frees its model). */
  async close(graceMs = 10_000): Promise<void> {
    await Promise.all(this.#engines.map((engine) => engine.close(graceMs)));
  }
}
