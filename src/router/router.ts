/**
 * Model name → engine. Pure lookup logic: the HTTP layer asks it which engine serves a request.
 */
import { ParleyError } from "../domain/errors.ts";
import type { ChatEngine, ModelInfo } from "../engines/types.ts";

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

  async close(graceMs: number): Promise<void> {
    await Promise.all(this.#engines.map((engine) => engine.close(graceMs)));
  }
}
