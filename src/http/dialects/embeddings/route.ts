/**
 * `POST /v1/embeddings` (and `/embeddings`): not a generation dialect (there are no events to
 * stream), so it has its own small handler, built from the same parts as serve.ts: the generation
 * context (`config.dialect` marks the route: counted in the request metrics under its status, the
 * key's concurrency slot freed once), the key's model permission (403) and limits (429), the
 * router (404), and the app's one error handler. The model must be an embedding model
 * (`capabilities.embeddings`): a chat model is a 400 naming its kind, as a chat request to an
 * embedding model is (router/capabilities.ts). The tokens read are charged to the key's token
 * window and usage summary, and counted as prompt tokens in the metrics. Not in the request log,
 * whose records describe generations.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { checkEmbeddingCapabilities } from "../../../router/capabilities.ts";
import type { ChatEvent } from "../../../domain/events.ts";
import type { RequestLimits } from "../../../domain/limits.ts";
import type { Router } from "../../../router/router.ts";
import { ANONYMOUS, type Auth } from "../../auth/auth.ts";
import { generationContext } from "../../plugins/generation-context.ts";
import { disconnectSignal } from "../../sse.ts";
import { parseEmbeddingRequest } from "./normalize.ts";
import { embeddingResponse, type EmbeddingResponseWire } from "./response.ts";

export const EMBEDDINGS_PATHS = ["/v1/embeddings", "/embeddings"] as const;

export interface EmbeddingsDependencies {
  readonly router: Router;
  readonly limits: RequestLimits;
  /** The key's model permission (403) and limits (429), usage accounting (default: none, open). */
  readonly auth?: Auth | undefined;
}

export function registerEmbeddings(app: FastifyInstance, deps: EmbeddingsDependencies): void {
  const handler = (request: FastifyRequest, reply: FastifyReply) => embeddings(deps, request, reply);
  for (const path of EMBEDDINGS_PATHS) app.post(path, { config: { dialect: "embeddings" } }, handler);
}

async function embeddings({ router, limits, auth }: EmbeddingsDependencies, request: FastifyRequest, reply: FastifyReply): Promise<EmbeddingResponseWire> {
  const context = generationContext(request);
  const keyUser = auth?.user(request);
  context.keyUser = keyUser;
  const parsed = parseEmbeddingRequest(request.body, limits);
  const { model } = parsed.request;
  if (router.has(model)) context.modelLabel = model;
  auth?.checkModel(request, model);
  const engine = router.resolve(model);
  checkEmbeddingCapabilities(parsed.request, engine.capabilities);
  if (engine.embed === undefined) throw new Error(`the engine of \`${model}\` says it embeds, and has no embed()`);
  context.admission = auth?.admit(request);
  const user = keyUser ?? ANONYMOUS;
  auth?.usage.request(user, model);
  request.log.info({ user: parsed.request.user?.slice(0, 256), keyUser, model, inputs: parsed.request.inputs.length, dimensions: parsed.request.dimensions }, "embeddings");
  const result = await engine.embed(parsed.request, disconnectSignal(reply.raw));
  context.admission?.charge(result.promptTokens);
  auth?.usage.tokens(user, model, result.promptTokens, 0);
  for await (const _ of context.observe(usageEvent(result.promptTokens))); // the metrics' prompt tokens
  return embeddingResponse(result, model, parsed.encoding);
}

async function* usageEvent(promptTokens: number): AsyncIterable<ChatEvent> {
  yield { type: "usage", usage: { promptTokens, completionTokens: 0, cachedTokens: 0 } };
}
