/**
 * OpenAI's legacy text completions (`POST /v1/completions`, and `/completions`) as a dialect:
 * request-schema.ts and normalize.ts read it, sink.ts writes it. Code-completion tools (Continue,
 * Tabby, llama.vim) use it, with `suffix` for fill-in-the-middle.
 */
import type { Dialect } from "../types.ts";
import { parseCompletionRequest, type ParsedCompletionRequest } from "./normalize.ts";
import { CompletionSink } from "./sink.ts";

export const completions: Dialect<ParsedCompletionRequest> = {
  name: "completions",
  logMessage: "text completion",
  paths: ["/v1/completions", "/completions"],
  idPrefix: "cmpl-",
  parse: (body, { limits }) => parseCompletionRequest(body, limits),
  sink: (parsed, meta) =>
    new CompletionSink(meta, {
      n: parsed.requests[0]?.n ?? 1,
      prompts: parsed.requests.length,
      logprobs: parsed.logprobs,
      echo: parsed.echo,
      withUsage: parsed.includeUsage,
    }),
};
