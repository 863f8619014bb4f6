/**
 * Model name → engine. Pure lookup logic: the HTTP layer asks it which engine serves a request.
 */
import { ParleyError } from "../domain/errors.ts";
import type { ChatEngine, DecodeBatchStats, EngineStats, ModelInfo } from "../engines/types.ts";

export class Router {
  readonly #engines: readonly ChatEngine[];
  readonly #byId = new Map<string, ChatEngine>();

  constructor(engines: readonly ChatEngine[]) {
    this.#engines = engines;
    for (const engine of engines) {
      for (const model of engine.listModels()) {
        if (this.#byId.has(model.id)) throw new Error(`Model id "${model.id}" is served twice`);
        this.#byId.set(model.id, engine);
      }
    }
  }

  /** The engine serving `model`; 404 `model_not_found` otherwise. */
  resolve(model: string): ChatEngine {
    const engine = this.#byId.get(model);
    if (engine === undefined) {
      throw new ParleyError("model_not_found", `The model \`${model}\` does not exist or you do not have access to it.`, {
        param: "model",
        code: "model_not_found",
      });
    }
    return engine;
  }

  listModels(): ModelInfo[] {
    return this.#engines.flatMap((engine) => engine.listModels());
  }

  isReady(): boolean {
    return this.#engines.every((engine) => engine.isReady());
  }

  /** Every engine's load, summed (engines that keep no stats count as idle). */
  stats(): EngineStats {
    let queued = 0;
    let active = 0;
    let slots = 0;
    let batches: DecodeBatchStats | undefined;
    for (const stats of this.#engines.map((engine) => engine.stats?.())) {
      if (stats === undefined) continue;
      queued += stats.queued;
      active += stats.active;
      slots += stats.slots;
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
    return { queued, active, slots, ...(batches === undefined ? {} : { batches }) };
  }

  async close(graceMs: number): Promise<void> {
    await Promise.all(this.#engines.map((engine) => engine.close(graceMs)));
  }
}
