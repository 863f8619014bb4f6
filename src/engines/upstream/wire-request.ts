/**
 * The domain `ChatRequest` serialised back into a chat-completions body for an upstream, in the
 * upstream's dialect (a text prompt's `/completions` body shares all but its head: `translateInto`,
 * used by `text-wire-request.ts`). Only fields that differ from the domain's defaults are written (so a plain
 * request is a plain OpenAI request); the seed is sent only when the client chose it. Parley's own
 * names are written first, then translated field by field (`dialect-table.ts`), constraints and
 * tools in `dialect-constraints.ts`, other servers' fields (`extensions`) verbatim where the
 * dialect reads them: a field the dialect cannot honour is a 400 naming it. Tools
 * are always sent in the modern `tools` form (legacy `functions` requests are answered in kind by
 * Parley's own HTTP layer). Last, the configured `unsupported` fields (names in the translated
 * body) are dropped or rejected: an explicit override of the table.
 */
import type { ChatMessage, ChatRequest } from "../../domain/chat.ts";
import { invalidRequest } from "../../domain/errors.ts";
import { requestFields } from "../../domain/request-fields.ts";
import { constraintFields, toolFields } from "./dialect-constraints.ts";
import { extensionFields, mergeInto, translateFields, type Row, type WireBody } from "./dialect-table.ts";
import type { UpstreamDialect } from "./dialect.ts";

export type { WireBody } from "./dialect-table.ts";

export interface WireRequestOptions {
  /** The model name the upstream expects. */
  readonly model: string;
  /** The id clients use (for messages). */
  readonly modelId: string;
  /** Streamed upstream (with `stream_options.include_usage`), or one JSON answer. */
  readonly stream: boolean;
  /** The fields the upstream reads. */
  readonly dialect: UpstreamDialect;
  /** Fields the upstream does not support (default: none). */
  readonly unsupported?: { readonly fields: readonly string[]; readonly mode: "drop" | "reject" };
  /** OpenAI's `prompt_cache_key`, forwarded where the dialect reads it (default: the request's `scheduling.cacheKey`). */
  readonly promptCacheKey?: string;
}

/** Fields that make the request what it is: never dropped. */
const ESSENTIAL = new Set(["model", "messages", "prompt", "stream"]);

/** The body and the warnings for dropped fields; a field the upstream rejects is a 400 naming it. */
export function toWireRequest(request: ChatRequest, options: WireRequestOptions): { body: WireBody; warnings: string[] } {
  // Text prompts go to `/completions`, in their own body (`text-wire-request.ts`).
  if (request.text !== undefined) throw invalidRequest(`Text prompts cannot be forwarded to the upstream serving model \`${options.modelId}\` as a chat request.`, ["prompt"], "unsupported");
  const body: WireBody = { model: options.model, messages: request.messages.map(toWireMessage), stream: options.stream };
  const warnings = translateInto(body, request, requestFields(request), options);
  return { body, warnings };
}

/**
 * The part both endpoints share: `fields` (Parley's names, `requestFields` plus the endpoint's
 * own) translated into `body` (`overrides`: the endpoint's rows of the table), then the
 * constraint, tools and other servers' fields, then the configured `unsupported` fields. Returns
 * the warnings for dropped fields.
 */
export function translateInto(body: WireBody, request: ChatRequest, fields: WireBody, options: WireRequestOptions, overrides?: Readonly<Record<string, Row>>): string[] {
  if (options.stream) body.stream_options = { include_usage: true };
  if (options.promptCacheKey !== undefined) fields.prompt_cache_key = options.promptCacheKey;
  mergeInto(body, translateFields(fields, options.dialect, options.modelId, overrides));
  if (request.constraint !== undefined) mergeInto(body, constraintFields(request.constraint, options.dialect, options.modelId, request.tools));
  if (request.tools !== undefined) Object.assign(body, toolFields(request.tools, options.dialect));
  if (request.extensions !== undefined) mergeInto(body, extensionFields(request.extensions, body, options.dialect, options.modelId));
  const warnings: string[] = [];
  const unsupported = options.unsupported;
  for (const field of unsupported?.fields ?? []) {
    if (!(field in body) || ESSENTIAL.has(field)) continue;
    if (unsupported?.mode === "reject") {
      throw invalidRequest(`\`${field}\` is not supported by the upstream serving model \`${options.modelId}\`.`, [field], "unsupported");
    }
    delete body[field];
    if (field !== "stream_options") warnings.push(`\`${field}\` was dropped: the upstream serving model \`${options.modelId}\` does not support it`);
  }
  return warnings;
}

function toWireMessage(m: ChatMessage): WireBody {
  const out: WireBody = { role: m.role, content: m.content };
  if (m.name !== undefined) out.name = m.name;
  if (m.reasoning !== undefined) out.reasoning_content = m.reasoning;
  if (m.role === "tool") out.tool_call_id = m.toolCallId ?? "";
  if (m.toolCalls !== undefined && m.toolCalls.length > 0) {
    out.tool_calls = m.toolCalls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } }));
    if (m.content === "") out.content = null;
  }
  return out;
}
