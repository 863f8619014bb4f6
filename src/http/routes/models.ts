/** `GET /v1/models` and `GET /v1/models/:id`, in OpenAI's list format. */
import type { FastifyInstance } from "fastify";
import type { Model, ModelsPage } from "openai/resources/models";
import type { ModelInfo } from "../../engines/types.ts";
import type { Router } from "../../router/router.ts";

function toWire(model: ModelInfo): Model {
  return { id: model.id, object: "model", created: model.created, owned_by: model.ownedBy };
}

export function registerModelRoutes(app: FastifyInstance, router: Router): void {
  app.get("/v1/models", async () => ({ object: "list", data: router.listModels().map(toWire) }) satisfies Pick<ModelsPage, "data"> & { object: "list" });

  // A wildcard, since model ids may contain slashes ("org/model").
  app.get<{ Params: { "*": string } }>("/v1/models/*", async (request) => {
    const id = request.params["*"];
    const engine = router.resolve(id);
    const model = engine.listModels().find((m) => m.id === id);
    if (model === undefined) throw new Error("router and engine disagree about model ids");
    return toWire(model);
  });
}
