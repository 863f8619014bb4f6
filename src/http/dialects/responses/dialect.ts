/**
 * OpenAI's Responses API (`POST /v1/responses`, and `/responses`) as a dialect, stateless:
 * request-schema.ts, input-items.ts and normalize.ts read it, sink.ts writes it, truncation.ts
 * fits an over-long input (`truncation: "auto"`) once the engine is known. Stored responses,
 * `previous_response_id` and background runs are the state part's (src/responses-store), which
 * builds on these exports.
 */
import type { Dialect } from "../types.ts";
import { parseResponsesRequest, type ParsedResponsesRequest } from "./normalize.ts";
import { ResponsesSink } from "./sink.ts";
import { fitInput } from "./truncation.ts";

export type { ParsedResponsesRequest } from "./normalize.ts";
export { inputItemsToMessages } from "./input-items.ts";

export const responsesDialect: Dialect<ParsedResponsesRequest> = {
  name: "responses",
  logMessage: "response",
  paths: ["/v1/responses", "/responses"],
  idPrefix: "resp_",
  parse: (body, { limits }) => parseResponsesRequest(body, limits),
  sink: (parsed, meta) => new ResponsesSink(parsed, meta),
  prepare: fitInput,
};
