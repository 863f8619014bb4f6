/**
 * Loading and unloading local models on request, and watching them, under llama-server's
 * router-mode names: `POST /models/load` and `POST /models/unload` with `{"model": "<id>"}`, and
 * `GET /models/events`, server-sent events of every status change (a `status` frame per model
 * first, then `status`, `loaded` and `unloaded` frames as they happen). Behind the admin key
 * (`checkControl`: on an open server without one, open as every route).
 *
 * Loading answers once the model has loaded (or why it could not: 400 when it does not fit the
 * memory budget, 503 when its load failed); unloading once its memory is free (running requests
 * get the shutdown grace to finish). Both answer `{success: true, model: <its /v1/models entry>}`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { RequestLimits } from "../../domain/limits.ts";
import type { PoolEvent } from "../../router/model-pool.ts";
import type { Router } from "../../router/router.ts";
import { parseBody } from "../../schemas/validation.ts";
import { checkControl, type Auth } from "../auth/auth.ts";
import { disconnectSignal, SseWriter } from "../sse.ts";
import { lifecycleToWire, toWire } from "./models.ts";

const modelBody = z.strictObject({ model: z.string().min(1).max(256) });

/** Seconds between keep-alive comments on an idle event stream (proxies close silent connections). */
const PING_S = 15;

export function registerModelControlRoutes(app: FastifyInstance, router: Router, auth: Auth, limits: RequestLimits): void {
  const config = { admin: true };
  const guarded = (handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>) => async (request: FastifyRequest, reply: FastifyReply) =>
    checkControl(auth, request, reply) ? handler(request, reply) : reply;

  app.post(
    "/models/load",
    { config },
    guarded(async (request, reply) => {
      const { model } = parseBody(modelBody, request.body, limits, "models");
      await router.managed(model).load(disconnectSignal(reply.raw));
      return { success: true, model: toWire(router.model(model).info) };
    }),
  );

  app.post(
    "/models/unload",
    { config },
    guarded(async (request) => {
      const { model } = parseBody(modelBody, request.body, limits, "models");
      await router.managed(model).unload("request");
      return { success: true, model: toWire(router.model(model).info) };
    }),
  );

  app.get(
    "/models/events",
    { config },
    guarded(async (_request, reply) => {
      reply.hijack();
      const writer = new SseWriter(reply.raw);
      writer.open();
      for (const model of router.managedModels()) {
        const info = model.describe().models[0]?.lifecycle;
        if (info !== undefined) await writer.send({ event: "status", data: { model: model.id, ...lifecycleToWire(info) } });
      }
      let chain = Promise.resolve();
      const stop = router.pool.listen((event) => {
        chain = chain.then(() => writer.send(eventFrame(event)));
      });
      const ping = setInterval(() => {
        if (!writer.closed) reply.raw.write(": ping\n\n");
      }, PING_S * 1000);
      ping.unref();
      reply.raw.once("close", () => {
        stop();
        clearInterval(ping);
      });
      return reply;
    }),
  );
}

/** One pool event as an SSE frame, in the API's snake_case. */
function eventFrame(event: PoolEvent): { event: string; data: unknown } {
  switch (event.type) {
    case "status":
      return { event: "status", data: { model: event.model, status: { value: event.status, ...(event.error === undefined ? {} : { failed: true, error: event.error }) } } };
    case "loaded":
      return { event: "loaded", data: { model: event.model, load_seconds: event.seconds, memory_estimate: { ram_bytes: event.memory.ram, vram_bytes: event.memory.vram } } };
    case "unloaded":
      return { event: "unloaded", data: { model: event.model, reason: event.reason } };
    case "download":
      return { event: "download", data: { model: event.model, received_bytes: event.receivedBytes, ...(event.totalBytes === undefined ? {} : { total_bytes: event.totalBytes }) } };
    case "load_failed":
      return { event: "load_failed", data: { model: event.model, error: event.error } };
  }
}
