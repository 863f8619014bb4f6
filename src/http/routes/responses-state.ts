/**
 * The Responses API's routes: `POST /v1/responses` through the stateful handler
 * (responses-store/create-response.ts), and the stored responses' own routes, each answering only
 * the key's user that created the response (anyone else, and an unknown id, get OpenAI's 404):
 *
 * - `GET /v1/responses/{id}`: the stored `Response`; with `stream=true` (a background response),
 *   its events after `starting_after`, replayed from the store then followed live while it runs;
 * - `DELETE /v1/responses/{id}`: `{id, object: "response", deleted: true}` (a running one is
 *   cancelled first);
 * - `GET /v1/responses/{id}/input_items`: a cursor page of its input items (`limit`, `order`,
 *   `after`; `include` accepted: nothing here has more to include);
 * - `POST /v1/responses/{id}/cancel`: stops a background response in progress (`cancelled`).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Response as OpenAIResponse } from "openai/resources/responses/responses";
import type { ResponseItemList } from "openai/resources/responses/input-items";
import { z } from "zod";
import { ParleyError } from "../../domain/errors.ts";
import type { Dialect, ParsedRequest } from "../dialects/types.ts";
import type { ServeDependencies } from "../dialects/serve.ts";
import { DONE, SseWriter } from "../sse.ts";
import { createResponse, followRun, ownerOf, type ResponsesState } from "../../responses-store/create-response.ts";
import type { StoredResponse } from "../../responses-store/store.ts";
import { zodIssues } from "../../schemas/validation.ts";

const flag = z.enum(["true", "false"]).transform((v) => v === "true");
const includes = z.union([z.string(), z.array(z.string())]).optional();

const retrieveQuery = z.object({
  stream: flag.optional(),
  starting_after: z.coerce.number().int().min(-1).optional(),
  include: includes,
  "include[]": includes,
  include_obfuscation: flag.optional(),
});

const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  order: z.enum(["asc", "desc"]).default("desc"),
  after: z.string().min(1).optional(),
  include: includes,
  "include[]": includes,
});

function parseQuery<S extends z.ZodType>(schema: S, query: unknown): z.infer<S> {
  const parsed = schema.safeParse(query);
  if (parsed.success) return parsed.data;
  const issues = zodIssues(parsed.error, ["query"]);
  const first = issues[0];
  throw new ParleyError("invalid_request", first === undefined ? "Invalid query." : `${String(first.path.at(-1))}: ${first.message}`, { param: String(first?.path.at(-1) ?? ""), issues });
}

function notFound(id: string): ParleyError {
  return new ParleyError("not_found", `Response with id '${id}' not found.`, { param: null });
}

/** Registers `POST /v1/responses` (the dialect's paths) and the stored responses' routes. */
export function registerResponsesRoutes<P extends ParsedRequest>(app: FastifyInstance, dialect: Dialect<P>, deps: ServeDependencies, state: ResponsesState | undefined): void {
  const config = dialect.errorBody === undefined ? { dialect: dialect.name } : { dialect: dialect.name, errorBody: dialect.errorBody };
  for (const path of dialect.paths) app.post(path, { config }, (request, reply) => createResponse(dialect, deps, state, request, reply));

  /** The stored response `id` of the request's owner (404 otherwise). */
  const find = (request: FastifyRequest): StoredResponse => {
    const { id } = request.params as { id: string };
    const stored = state?.store.get(id, ownerOf(deps, request));
    if (stored === undefined) throw notFound(id);
    return stored;
  };

  app.get("/v1/responses/:id", async (request, reply) => {
    const query = parseQuery(retrieveQuery, request.query);
    const stored = find(request);
    if (query.stream === true) return streamStored(request, reply, stored, query.starting_after ?? -1);
    return stored.response;
  });

  app.delete("/v1/responses/:id", async (request) => {
    const stored = find(request);
    const run = state?.runs.get(stored.id, stored.owner);
    if (run !== undefined) await state?.runs.cancel(run);
    state?.store.delete(stored.id, stored.owner);
    return { id: stored.id, object: "response", deleted: true };
  });

  app.get("/v1/responses/:id/input_items", async (request): Promise<ResponseItemList> => {
    const query = parseQuery(listQuery, request.query);
    const stored = find(request);
    const page = state?.store.inputItemPage(stored.id, { limit: query.limit, order: query.order, after: query.after });
    if (page === undefined) throw new ParleyError("invalid_request", `No input item with id '${query.after}' in response '${stored.id}'.`, { param: "after" });
    const ids = page.items.map((item) => ("id" in item && typeof item.id === "string" ? item.id : ""));
    return { object: "list", data: [...page.items], first_id: ids[0] ?? (null as unknown as string), last_id: ids.at(-1) ?? (null as unknown as string), has_more: page.hasMore };
  });

  app.post("/v1/responses/:id/cancel", async (request): Promise<OpenAIResponse | undefined> => {
    const stored = find(request);
    if (!stored.background) throw new ParleyError("invalid_request", "Only responses created with `background: true` can be cancelled.", { param: null });
    const run = state?.runs.get(stored.id, stored.owner);
    if (run !== undefined) {
      await state?.runs.cancel(run);
      return state?.store.get(stored.id, stored.owner)?.response;
    }
    if (stored.status === "cancelled") return stored.response;
    throw new ParleyError("invalid_request", `Cannot cancel a response whose status is '${stored.status}'.`, { param: null });
  });

  /** A background response's events after `after`: the live run's, or the store's once it ended. */
  async function streamStored(request: FastifyRequest, reply: FastifyReply, stored: StoredResponse, after: number): Promise<FastifyReply> {
    if (!stored.background) throw new ParleyError("invalid_request", "Only responses created with `background: true` can be streamed again: retrieve this one without `stream`.", { param: "stream" });
    const run = state?.runs.get(stored.id, stored.owner);
    if (run !== undefined) return followRun(reply, run, after);
    const sse = new SseWriter(reply.raw);
    reply.hijack();
    sse.open();
    for (const event of state?.store.events(stored.id, after) ?? []) {
      if (sse.closed) break;
      await sse.send(event.event === undefined && event.data === DONE ? DONE : { ...(event.event === undefined ? {} : { event: event.event }), data: event.data });
    }
    request.log.debug({ id: stored.id, after }, "replayed a stored response stream");
    sse.end();
    return reply;
  }
}
