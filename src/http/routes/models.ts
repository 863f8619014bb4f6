/**
 * `GET /v1/models` and `GET /v1/models/:id`, in OpenAI's list format. A loaded local model's entry
 * also carries a `parley` vendor field saying which tool-call and reasoning formats it was given
 * and from which template (the same report the start-up log prints); OpenAI's clients ignore it.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Model, ModelsPage } from "openai/resources/models";
import type { ModelFormats, ModelInfo } from "../../engines/types.ts";
import { ParleyError } from "../../domain/errors.ts";
import type { Router } from "../../router/router.ts";
import type { Auth } from "../auth/auth.ts";

/** The `parley` field of a model entry: `ModelFormats` in the API's snake_case. */
export interface WireModelFormats {
  readonly tool_calls: { readonly format: string; readonly source: ModelFormats["toolCalls"]["source"]; readonly reason: string };
  readonly reasoning:
    | { readonly format: "none" | "harmony" }
    | { readonly format: "tags"; readonly open: string; readonly close: string; readonly source: "known" | "derived"; readonly answer_open?: string; readonly answer_close?: string };
  readonly chat_template: ModelFormats["template"];
  readonly tool_use_template: boolean;
}

/** A model entry: OpenAI's fields, the context length under llama-server's and vLLM's names, and Parley's formats. */
export type WireModel = Model & { context_length?: number; max_model_len?: number; kind?: "embedding"; dimensions?: number; parley?: WireModelFormats };

function formatsToWire(formats: ModelFormats): WireModelFormats {
  const { reasoning } = formats;
  return {
    tool_calls: { format: formats.toolCalls.format, source: formats.toolCalls.source, reason: formats.toolCalls.reason },
    reasoning:
      reasoning.format === "tags"
        ? {
            format: "tags",
            open: reasoning.open,
            close: reasoning.close,
            source: reasoning.source,
            ...(reasoning.answer === undefined ? {} : { answer_open: reasoning.answer.open, answer_close: reasoning.answer.close }),
          }
        : { format: reasoning.format },
    chat_template: formats.template,
    tool_use_template: formats.toolUseTemplate,
  };
}

function toWire(model: ModelInfo): WireModel {
  const context = model.contextLength === undefined ? {} : { context_length: model.contextLength, max_model_len: model.contextLength };
  // An embedding model says so (`kind`) and gives its vectors' length once loaded; chat models carry no `kind`.
  const kind = model.kind === undefined ? {} : { kind: model.kind, ...(model.dimensions === undefined ? {} : { dimensions: model.dimensions }) };
  const wire: WireModel = { id: model.id, object: "model", created: model.created, owned_by: model.ownedBy, ...context, ...kind };
  return model.formats === undefined ? wire : { ...wire, parley: formatsToWire(model.formats) };
}

/**
 * A model's info as its engine reports it now, under the name asked for: the router keeps the info
 * it saw when the server started, before the models loaded (and so before their formats were known).
 */
function current(router: Router, name: string): ModelInfo {
  return router.model(name).info;
}

/** `auth`: with keys, only the models the request's key may use are listed (default: all). */
export function registerModelRoutes(app: FastifyInstance, router: Router, auth?: Auth): void {
  const allowed = (request: FastifyRequest, id: string) => auth === undefined || auth.allows(auth.principal(request), id);
  // Under `/v1` as OpenAI has them, and without it as llama-server and some clients ask.
  for (const prefix of ["/v1", ""]) {
    app.get(
      `${prefix}/models`,
      async (request) =>
        ({
          object: "list",
          data: router
            .listModels()
            .filter((m) => allowed(request, m.id))
            .map((m) => toWire(current(router, m.id))),
        }) satisfies Pick<ModelsPage, "data"> & { object: "list" },
    );

    // A wildcard, since model ids may contain slashes ("org/model").
    app.get<{ Params: { "*": string } }>(`${prefix}/models/*`, async (request) => {
      const id = request.params["*"];
      // A model the key may not use is reported exactly like one that does not exist.
      if (!allowed(request, id)) throw new ParleyError("model_not_found", `The model \`${id}\` does not exist or you do not have access to it.`, { param: "model", code: "model_not_found" });
      return toWire(current(router, id)); // ids and aliases alike
    });
  }
}
