/**
 * `truncation: "auto"`: when the conversation does not fit the model's context, the oldest input
 * is dropped until it does, as OpenAI does. Kept always: the system and developer messages
 * (`instructions` among them) and the last user turn (the last user message and everything after
 * it). Dropped whole: an assistant turn with the results of its calls, so no result outlives its
 * call. Counted exactly, with the engine's own template and tokenizer (`applyTemplate`, then
 * `tokenize` with its special tokens: the generation's prompt tokens); an engine without them
 * (an upstream) cannot count, so `auto` is refused there with a 400 naming it.
 *
 * `truncation: "disabled"` (the default) leaves the input as it is: an input that does not fit is
 * the engine's 400 (`context_length_exceeded`).
 */
import type { ChatMessage, ChatRequest } from "../../../domain/chat.ts";
import { invalidRequest, ParleyError } from "../../../domain/errors.ts";
import type { ChatEngine } from "../../../engines/types.ts";
import type { ParsedResponsesRequest } from "./normalize.ts";

/** Tokens the prompt of `request` takes, or undefined when `engine` cannot count them. */
export async function countInputTokens(engine: ChatEngine, request: ChatRequest, signal: AbortSignal): Promise<number | undefined> {
  if (engine.applyTemplate === undefined || engine.tokenize === undefined) return undefined;
  const text = await engine.applyTemplate(request, signal);
  return (await engine.tokenize(text, { addSpecial: true, field: "input" })).length;
}

/** The request as it will run: unchanged, or with its oldest input dropped to fit (`truncation: "auto"`). */
export async function fitInput(parsed: ParsedResponsesRequest, engine: ChatEngine, signal: AbortSignal): Promise<ParsedResponsesRequest> {
  if (parsed.truncation !== "auto") return parsed;
  const context = engine.describe().models.find((m) => m.id === parsed.request.model)?.contextLength ?? engine.describe().models[0]?.contextLength;
  if (engine.applyTemplate === undefined || engine.tokenize === undefined || context === undefined) {
    throw invalidRequest(
      `\`truncation: "auto"\` needs the model's tokenizer and chat template to count the input, and the model \`${parsed.request.model}\` is served by an upstream server: use \`truncation: "disabled"\`.`,
      ["truncation"],
      "unsupported",
    );
  }
  // The prompt must leave room for one generated token at least (the engine's own check).
  const limit = context - 1;
  let request = parsed.request;
  for (;;) {
    const tokens = await countInputTokens(engine, request, signal);
    if (tokens === undefined || tokens < limit) break;
    const shorter = dropOldest(request.messages);
    if (shorter === undefined) {
      throw new ParleyError(
        "context_length_exceeded",
        `This model's maximum context length is ${context} tokens, and the input (${tokens} tokens) does not fit even with only the instructions and the last user turn kept (\`truncation: "auto"\`). Please shorten them.`,
        { param: "input", code: "context_length_exceeded" },
      );
    }
    request = { ...request, messages: shorter };
  }
  return request === parsed.request ? parsed : { ...parsed, request, requests: [request] };
}

/** The messages without their oldest droppable turn, or undefined when none may go. */
export function dropOldest(messages: readonly ChatMessage[]): ChatMessage[] | undefined {
  const lastUser = messages.findLastIndex((m) => m.role === "user");
  const first = messages.findIndex((m, i) => i < lastUser && m.role !== "system" && m.role !== "developer");
  if (first < 0) return undefined;
  // An assistant turn goes with the results of its calls.
  let end = first + 1;
  while (end < lastUser && messages[end]?.role === "tool") end++;
  return [...messages.slice(0, first), ...messages.slice(end)];
}
