/** `GET /v1/models` and `GET /v1/models/:id`, in OpenAI's list format. */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Model, ModelsPage } from "openai/resources/models";
import type { ModelInfo } from "../../engines/types.ts";
import { ParleyError } from "../../domain/errors.ts";
import type { Router } from "../../router/router.ts";
import type { Auth } from "../auth/auth.ts";

function toWire(model: ModelInfo): Model {
  return { id: model.id, object: "model", created: model.created, owned_by: model.ownedBy };
}

/** `auth`: with keys, only the models the request's key may use are listed (default: all). */
export function registerModelRoutes(app: FastifyInstance, router: Router, auth?: Auth): void {
  const allowed = (request: FastifyRequest, id: string) => auth === undefined || auth.allows(auth.principal(request), id);
  app.get("/v1/models", async (request) => ({ object: "list", data: router.listModels().filter((m) => allowed(request, m.id)).map(toWire) }) satisfies Pick<ModelsPage, "data"> & { object: "list" });

  // A wildcard, since model ids may contain slashes ("org/model").
  app.get<{ Params: { "*": string } }>("/v1/models/*", async (request) => {
    const id = request.params["*"];
    // A model the key may not use is reported exactly like one that does not exist.
    if (!allowed(request, id)) throw new ParleyError("model_not_found", `The model \`${id}\` does not exist or you do not have access to it.`, { param: "model", code: "model_not_found" });
    return toWire(router.model(id).info); // ids and aliases alike
  });
}
