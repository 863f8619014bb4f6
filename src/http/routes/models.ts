/**
 * `GET /v1/models` and `GET /v1/models/:id`, in OpenAI's list format. A loaded local model's entry
 * also carries a `parley` vendor field saying which tool-call and reasoning formats it was given
 * and from which template (the same report the start-up log prints); OpenAI's clients ignore it.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Model, ModelsPage } from "openai/resources/models";
import type { ModelFormats, ModelInfo, ModelLifecycleInfo, ModelPlacementInfo, ModelStatus } from "../../engines/types.ts";
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

/** A local model's state, as llama-server's router mode names it (`status.value`), with Parley's details. */
export interface WireModelStatus {
  readonly value: ModelStatus;
  /** Present (true) when the last load failed, with `error` saying why. */
  readonly failed?: true;
  readonly error?: string;
  /** While the model's file downloads for its first load. */
  readonly download?: { readonly received_bytes: number; readonly total_bytes?: number };
}

/** A local model's lifecycle fields. */
export interface WireLifecycle {
  readonly status: WireModelStatus;
  /** What it takes loaded, estimated from its GGUF (once the file is on disk). */
  readonly memory_estimate?: { readonly ram_bytes: number; readonly vram_bytes: number };
  readonly pinned: boolean;
  /** Seconds without requests before it unloads. */
  readonly ttl?: number;
}

/** A model entry: OpenAI's fields, the context length under llama-server's and vLLM's names, a local model's lifecycle, and Parley's formats. */
export type WireModel = Model & {
  context_length?: number;
  max_model_len?: number;
  kind?: "embedding";
  dimensions?: number;
  parley?: WireModelFormats;
  placement?: WirePlacement;
} & Partial<WireLifecycle>;

/** `lifecycle` in the API's snake_case. */
export function lifecycleToWire(lifecycle: ModelLifecycleInfo): WireLifecycle {
  const { status, error, memory, pinned, ttl, download } = lifecycle;
  return {
    status: {
      value: status,
      ...(status === "failed" ? { failed: true as const } : {}),
      ...(error === undefined ? {} : { error }),
      ...(download === undefined ? {} : { download: { received_bytes: download.receivedBytes, ...(download.totalBytes === undefined ? {} : { total_bytes: download.totalBytes }) } }),
    },
    ...(memory === undefined ? {} : { memory_estimate: { ram_bytes: memory.ram, vram_bytes: memory.vram } }),
    pinned,
    ...(ttl === undefined ? {} : { ttl }),
  };
}

/** Where a loaded local model runs (`placement`), in the API's snake_case. */
export interface WirePlacement {
  readonly device: string;
  readonly gpu_layers: number;
  readonly total_layers: number;
  readonly flash_attention: boolean;
  readonly kv_cache_type: string;
  readonly memory: { readonly ram_bytes: number; readonly vram_bytes: number };
}

function placementToWire(p: ModelPlacementInfo): WirePlacement {
  return {
    device: p.device,
    gpu_layers: p.gpuLayers,
    total_layers: p.totalLayers,
    flash_attention: p.flashAttention,
    kv_cache_type: p.kvCacheType,
    memory: { ram_bytes: p.memory.ram, vram_bytes: p.memory.vram },
  };
}

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

export function toWire(model: ModelInfo): WireModel {
  const context = model.contextLength === undefined ? {} : { context_length: model.contextLength, max_model_len: model.contextLength };
  // An embedding model says so (`kind`) and gives its vectors' length once loaded; chat models carry no `kind`.
  const kind = model.kind === undefined ? {} : { kind: model.kind, ...(model.dimensions === undefined ? {} : { dimensions: model.dimensions }) };
  const lifecycle = model.lifecycle === undefined ? {} : lifecycleToWire(model.lifecycle);
  const placement = model.placement === undefined ? {} : { placement: placementToWire(model.placement) };
  const wire: WireModel = { id: model.id, object: "model", created: model.created, owned_by: model.ownedBy, ...context, ...kind, ...lifecycle, ...placement };
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
