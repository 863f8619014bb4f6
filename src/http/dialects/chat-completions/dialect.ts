/**
 * OpenAI's chat completions (`POST /v1/chat/completions`, and `/chat/completions` as llama-server
 * and some clients send it) as a dialect: request-schema.ts and normalize.ts read it, sink.ts writes it.
 */
import type { Dialect } from "../types.ts";
import { parseChatRequest, type ParsedChatRequest } from "./normalize.ts";
import { ChatCompletionSink } from "./sink.ts";

export const chatCompletions: Dialect<ParsedChatRequest> = {
  name: "chat.completions",
  logMessage: "chat completion",
  paths: ["/v1/chat/completions", "/chat/completions"],
  idPrefix: "chatcmpl-",
  parse: (body, { limits }) => parseChatRequest(body, limits),
  sink: (parsed, meta, { reasoningField }) => {
    const [request] = parsed.requests;
    return new ChatCompletionSink(meta, {
      n: request?.n ?? 1,
      withUsage: parsed.includeUsage,
      logprobs: request?.logprobs ?? false,
      legacyFunctions: request?.tools?.legacy ?? false,
      reasoningField,
    });
  },
};
