/**
 * `POST /v1/responses` with state: the shared handler (serve.ts) around the Responses dialect,
 * plus what the store adds.
 *
 * - `previous_response_id`: the stored conversation (conversation.ts) goes before the new input,
 *   and the conversation's first response id becomes the placement hint (`cacheKey`) unless the
 *   client set `prompt_cache_key`, so the turn prefers the slot whose cache holds the earlier ones.
 * - `item_reference` input items: replaced by the stored items they name (item-references.ts).
 * - `store` (default true): the request's input items and its finished `Response` are kept,
 *   streamed or not, under the key's user. `store: false` keeps nothing.
 * - `background: true` (needs `store`): the request is admitted (every refusal is still a 4xx
 *   here), then runs detached from the HTTP request (its own abort signal: only `cancel` or
 *   shutdown stop it) while the POST answers at once with the queued response, or, with `stream`,
 *   follows the run's events (leaving stops the following, not the run). The run owns the
 *   request's generation context: the key's concurrency slot is held and its tokens charged until
 *   the run ends.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Response as OpenAIResponse } from "openai/resources/responses/responses";
import { invalidRequest } from "../domain/errors.ts";
import { admit, serve, startGeneration, type AdmittedRequest, type ServeDependencies } from "../http/dialects/serve.ts";
import type { Dialect, ParsedRequest, ResponseSink } from "../http/dialects/types.ts";
import { recordedError, toHttpError } from "../http/errors.ts";
import { responseId } from "../http/plugins/request-id.ts";
import { SseWriter } from "../http/sse.ts";
import { type BackgroundRun, type BackgroundRuns, ResponseCancelled } from "./background-runs.ts";
import { conversationBefore } from "./conversation.ts";
import { resolveItemReferences } from "./item-references.ts";
import { inputAsList, toStoredItems } from "./items.ts";
import type { ResponseStore } from "./store.ts";
import { StoringSink } from "./storing-sink.ts";

/** The store and the runs in progress (absent: `--responses-store off`). */
export interface ResponsesState {
  readonly store: ResponseStore;
  readonly runs: BackgroundRuns;
}

/** The state fields of a body, read before it is validated (the dialect validates them too). */
interface StateFields {
  readonly store: boolean;
  readonly background: boolean;
  readonly previousId: string | undefined;
}

function stateFields(body: unknown): StateFields {
  const b = (typeof body === "object" && body !== null ? body : {}) as { store?: unknown; background?: unknown; previous_response_id?: unknown };
  return {
    store: b.store !== false,
    background: b.background === true,
    previousId: typeof b.previous_response_id === "string" && b.previous_response_id !== "" ? b.previous_response_id : undefined,
  };
}

/** `parsed` with `cacheKey` as every request's placement hint, unless the client gave one. */
function withCacheKey<P extends ParsedRequest>(parsed: P, cacheKey: string): P {
  const requests = parsed.requests.map((r) => (r.scheduling.cacheKey === undefined ? { ...r, scheduling: { ...r.scheduling, cacheKey } } : r));
  return { ...parsed, requests };
}

/** The owner of what `request` stores: its key's user, or "" on an open server. */
export function ownerOf(deps: ServeDependencies, request: FastifyRequest): string {
  return deps.auth?.user(request) ?? "";
}

export async function createResponse<P extends ParsedRequest>(
  dialect: Dialect<P>,
  deps: ServeDependencies,
  state: ResponsesState | undefined,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<unknown> {
  const fields = stateFields(request.body);
  if (state === undefined) {
    if (fields.previousId !== undefined)
      throw invalidRequest("`previous_response_id` needs stored responses, and this server keeps none (`--responses-store off`).", ["previous_response_id"], "unsupported");
    if (fields.background) throw invalidRequest("`background` needs stored responses, and this server keeps none (`--responses-store off`).", ["background"], "unsupported");
    if ((request.body as { store?: unknown } | null)?.store === true) {
      throw invalidRequest("`store: true` needs stored responses, and this server keeps none (`--responses-store off`): send `store: false` or leave it out.", ["store"], "unsupported");
    }
    // Nothing is kept, and the response says so (`store: false`) rather than OpenAI's default.
    return serve(dialect, deps, request, reply, { parse: () => ({ ...dialect.parse(request.body, deps.settings), store: false }) });
  }
  if (fields.background && !fields.store) throw invalidRequest("A background response must be stored: `background: true` needs `store: true`.", ["background"]);
  const owner = ownerOf(deps, request);
  // OpenAI's form (`resp_…`), which the dialect's writer keeps as it is.
  const id = responseId(request, dialect.idPrefix);
  const previous = fields.previousId === undefined ? undefined : conversationBefore(state.store, owner, fields.previousId);
  const body = request.body as Record<string, unknown>;
  const sent = (body as Record<string, unknown> | null)?.input;
  const input = resolveItemReferences(state.store, owner, sent);
  const expanded = previous === undefined ? (input === sent ? body : { ...body, input }) : { ...body, input: [...previous.items, ...inputAsList(input)] };
  const cacheKey = previous?.root ?? (fields.store ? id : undefined);
  const parse = () => {
    const parsed = dialect.parse(expanded, deps.settings);
    return cacheKey === undefined ? parsed : withCacheKey(parsed, cacheKey);
  };
  const record = (response: OpenAIResponse, model: string) =>
    state.store.create({
      id,
      owner,
      model,
      status: response.status ?? "completed",
      request: body,
      response,
      previousResponseId: fields.previousId,
      conversation: previous?.root ?? id,
      background: fields.background,
      inputItems: toStoredItems(input),
    });
  if (!fields.background) {
    if (!fields.store) return serve(dialect, deps, request, reply, { parse, id });
    const sink = (inner: ResponseSink) => new StoringSink(inner, (response) => safely(request, () => record(response, response.model)));
    return serve(dialect, deps, request, reply, { parse, id, sink });
  }
  const admitted = admit(dialect, deps, request, parse);
  const meta = { id, created: Math.floor(Date.now() / 1000), model: admitted.parsed.requests[0]?.model ?? "", fingerprint: admitted.engine.fingerprint };
  const sink = new StoringSink(dialect.sink(admitted.parsed, meta, deps.settings), () => undefined);
  const opening = sink.open();
  const opened = sink.latest;
  if (opened === undefined) throw new Error("responses: the dialect's stream opens with no response");
  const queued: OpenAIResponse = { ...opened, status: "queued", background: true };
  record(queued, queued.model);
  const run = state.runs.start(id, owner, (error) => request.log.error({ err: error, response: id }, "could not store a background response's events; its live stream goes on"));
  try {
    run.record(opening);
  } catch (error) {
    run.end();
    throw error;
  }
  // From here the run owns the generation context: the POST's own end must not close it.
  request.generation = undefined;
  void runDetached(dialect, deps, request, admitted, run, sink, state.store);
  if (!admitted.parsed.stream) return queued;
  return followRun(reply, run, -1);
}

/** Sends `run`'s events after `after` as an SSE stream; a client that leaves stops only its own stream. */
export async function followRun(reply: FastifyReply, run: BackgroundRun, after: number): Promise<FastifyReply> {
  const sse = new SseWriter(reply.raw);
  reply.hijack();
  sse.open();
  for await (const frame of run.follow(after)) {
    if (sse.closed) break;
    await sse.send(frame);
  }
  sse.end();
  return reply;
}

/** Generates a background response to its end (or its cancellation), recording every event and its final state. */
async function runDetached<P extends ParsedRequest>(
  dialect: Dialect<P>,
  deps: ServeDependencies,
  request: FastifyRequest,
  admitted: AdmittedRequest<P>,
  run: BackgroundRun,
  sink: StoringSink,
  store: ResponseStore,
): Promise<void> {
  const { context } = admitted;
  let status = 200;
  try {
    const started = await startGeneration(dialect, deps, request, admitted, run.controller.signal, { id: run.id, sink: () => sink });
    const running = sink.latest;
    if (running !== undefined) safely(request, () => store.update(run.id, { ...running, status: "in_progress", background: true }));
    for await (const event of started.events) {
      const frames = sink.event(event);
      // Once cancelled, the engine stops at once; what it still reports (usage) is charged, not sent.
      if (!run.cancelled) run.record(frames);
    }
    if (!run.cancelled) run.record(sink.close());
  } catch (error) {
    if (!run.cancelled && !(error instanceof ResponseCancelled)) {
      const mapped = toHttpError(error, deps.errors);
      if (mapped.status >= 500) request.log.error({ err: error }, "background response failed");
      context.error = recordedError(mapped);
      status = mapped.status;
      safely(request, () => run.record([...sink.error(mapped), ...sink.close()]));
    }
  }
  safely(request, () => store.update(run.id, finalResponse(sink, run)));
  context.finish(run.cancelled ? 499 : status);
  run.end();
}

/** What a finished run stores: the sink's body (what it had when cancelled), marked cancelled when it was. */
function finalResponse(sink: StoringSink, run: BackgroundRun): OpenAIResponse {
  let body: OpenAIResponse | undefined;
  try {
    body = sink.body() as OpenAIResponse;
  } catch {
    body = sink.latest;
  }
  if (body === undefined) throw new Error("responses: a background run produced no response");
  return { ...body, status: run.cancelled ? "cancelled" : (body.status ?? "completed"), background: true };
}

/** Runs a store write; a failure (e.g. the database closed at shutdown) is logged, never thrown into the stream. */
function safely(request: FastifyRequest, write: () => void): void {
  try {
    write();
  } catch (error) {
    request.log.error({ err: error }, "could not store a response");
  }
}
