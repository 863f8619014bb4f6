/**
 * A text-prompt request (`ChatRequest.text`, from `/v1/completions`) serialised into the body an
 * upstream's `/completions` takes, in its dialect: `prompt` (text or token ids) and the same
 * fields, translated by the same table, as a chat request (`translateInto` in wire-request.ts),
 * with the text endpoint's own rows (`text-dialect-table.ts`: `suffix`, `echo`, the legacy integer
 * `logprobs`). A field the dialect cannot honour is a 400 naming it, before anything is sent.
 */
import type { ChatRequest } from "../../domain/chat.ts";
import { invalidRequest } from "../../domain/errors.ts";
import { requestFields } from "../../domain/request-fields.ts";
import { notInDialect, type WireBody } from "./dialect-table.ts";
import { TEXT_FIELD_OVERRIDES } from "./text-dialect-table.ts";
import { translateInto, type WireRequestOptions } from "./wire-request.ts";

/** The `/completions` body and the warnings for dropped fields. */
export function toTextWireRequest(request: ChatRequest, options: WireRequestOptions): { body: WireBody; warnings: string[] } {
  const text = request.text;
  if (text === undefined) throw invalidRequest(`A chat request cannot be forwarded to the text completions of the upstream serving model \`${options.modelId}\`.`, ["messages"], "unsupported");
  // OpenAI's legacy completions take no `response_format` (nor any other constraint field).
  if (request.constraint !== undefined && options.dialect === "openai") {
    throw notInDialect(request.constraint.field, options.dialect, options.modelId, "OpenAI's text completions enforce no output constraint");
  }
  const body: WireBody = { model: options.model, prompt: typeof text.prompt === "string" ? text.prompt : [...text.prompt], stream: options.stream };
  const fields = requestFields(request);
  // With `echo`, the legacy log-probabilities cover the echoed prompt: asking for the prompt's apart would repeat them.
  if (request.prompt.echo && request.logprobs) delete fields.prompt_logprobs;
  if (text.suffix !== undefined && text.suffix !== "") fields.suffix = text.suffix;
  const warnings = translateInto(body, request, fields, options, TEXT_FIELD_OVERRIDES);
  return { body, warnings };
}
