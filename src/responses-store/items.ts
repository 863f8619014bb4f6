/**
 * Items between the wire and the store. A request's `input` (a string, or items in any of the
 * shapes a client may send: short messages with string content, typed items without ids) is kept
 * as the API lists it back (`GET /v1/responses/{id}/input_items`): every item with an id, message
 * content as parts. A stored conversation becomes input again for `previous_response_id`: the
 * stored input items, then the response's output items, which the API accepts as input as they
 * are (assistant messages, function calls, reasoning), as clients send them back themselves.
 */
import { randomBytes } from "node:crypto";
import type { Response as OpenAIResponse, ResponseItem } from "openai/resources/responses/responses";

type JsonObject = Record<string, unknown>;

const ID_PREFIX: Readonly<Record<string, string>> = {
  message: "msg",
  function_call: "fc",
  function_call_output: "fco",
  reasoning: "rs",
};

/** A new item id: `<prefix>_` and 24 hex digits, as OpenAI's look. */
export function newItemId(type: string): string {
  return `${ID_PREFIX[type] ?? "item"}_${randomBytes(12).toString("hex")}`;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A request's `input` as a list of items (a string is one user message). */
export function inputAsList(input: unknown): unknown[] {
  if (typeof input === "string") return [{ type: "message", role: "user", content: input }];
  return Array.isArray(input) ? input : [];
}

/**
 * The request's input items as stored and listed: each with an id (a new one where the client sent
 * none), messages typed `message` with their content as parts (`input_text`, or `output_text` for
 * the assistant's), and a status.
 */
export function toStoredItems(input: unknown): ResponseItem[] {
  return inputAsList(input).map((raw) => {
    const item: JsonObject = isObject(raw) ? { ...raw } : { value: raw };
    const type = typeof item.type === "string" ? item.type : "role" in item ? "message" : "item";
    if (type === "message") {
      const assistant = item.role === "assistant";
      const content = typeof item.content === "string" ? [assistant ? { type: "output_text", text: item.content, annotations: [] } : { type: "input_text", text: item.content }] : item.content;
      return { id: newItemId(type), ...item, type, content, status: item.status ?? "completed" } as unknown as ResponseItem;
    }
    return { id: newItemId(type), ...item, type } as unknown as ResponseItem;
  });
}

/**
 * Stored input items as input again: a user, system or developer message loses its id (an input
 * message has none on the wire); every other item goes as it was listed.
 */
export function toInputItems(items: readonly ResponseItem[]): unknown[] {
  return items.map((item) => {
    if (item.type === "message" && item.role !== "assistant") {
      const { id: _id, ...rest } = item;
      return rest;
    }
    return item;
  });
}

/** A response's output items as input for the next turn: as they are (the API takes them back). */
export function outputAsInput(response: OpenAIResponse): unknown[] {
  return [...response.output];
}
