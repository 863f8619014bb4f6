/**
 * Anthropic's Messages API (`POST /v1/messages`) as a dialect: request-schema.ts, content.ts and
 * normalize.ts read it, sink.ts writes it, wire-errors.ts gives its routes Anthropic's error
 * envelope. `anthropic-version` is accepted whatever its value and `anthropic-beta` is ignored
 * (headers: nothing reads them). `count-tokens.ts` answers `/v1/messages/count_tokens`.
 */
import type { Dialect } from "../types.ts";
import { parseMessagesRequest, type ParsedMessagesRequest } from "./normalize.ts";
import { MessagesSink } from "./sink.ts";
import { anthropicErrorBody } from "./wire-errors.ts";

export const anthropicMessages: Dialect<ParsedMessagesRequest> = {
  name: "anthropic.messages",
  logMessage: "anthropic message",
  paths: ["/v1/messages"],
  idPrefix: "msg_",
  parse: (body, { limits }) => parseMessagesRequest(body, limits),
  sink: (parsed, meta) => new MessagesSink(meta, { omitThoughts: parsed.omitThoughts }),
  errorBody: anthropicErrorBody,
};
