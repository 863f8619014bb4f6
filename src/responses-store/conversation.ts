/**
 * `previous_response_id`: the conversation a new request continues, rebuilt from the store along
 * the chain of previous responses (each one's input items, then its output), oldest first. The
 * first response of the chain names the conversation: it is the placement hint (`cacheKey`) of
 * every turn, so each turn prefers the slot whose KV cache the previous turn left warm.
 *
 * A response the caller cannot see (unknown, deleted, pruned, another key's) is reported as OpenAI
 * does: 400, code `previous_response_not_found`. A previous response still running is a 400 too:
 * its output is not known yet.
 */
import { ParleyError } from "../domain/errors.ts";
import { outputAsInput, toInputItems } from "./items.ts";
import type { ResponseStore } from "./store.ts";

export interface Conversation {
  /** The earlier turns as input items, oldest first. */
  readonly items: readonly unknown[];
  /** The first response's id: the conversation's cache key. */
  readonly root: string;
}

/** Chains longer than this are refused (a loop cannot happen, ids are new; this bounds the work). */
const MAX_CHAIN = 10_000;

export function previousNotFound(id: string): ParleyError {
  return new ParleyError("invalid_request", `Previous response with id '${id}' not found.`, { param: "previous_response_id", code: "previous_response_not_found" });
}

/** The conversation that `previousId` ends, as `owner` may see it. */
export function conversationBefore(store: ResponseStore, owner: string, previousId: string): Conversation {
  const turns: unknown[][] = [];
  let root = previousId;
  let id: string | undefined = previousId;
  while (id !== undefined) {
    const stored = store.get(id, owner);
    if (stored === undefined) throw previousNotFound(id);
    if (stored.response === undefined || stored.status === "queued" || stored.status === "in_progress") {
      throw new ParleyError("invalid_request", `Previous response with id '${id}' is still ${stored.status === "queued" ? "queued" : "in progress"}: wait until it completes.`, {
        param: "previous_response_id",
        code: "previous_response_in_progress",
      });
    }
    turns.push([...toInputItems(store.inputItems(id)), ...outputAsInput(stored.response)]);
    root = stored.id;
    id = stored.previousResponseId;
    if (turns.length > MAX_CHAIN) throw new ParleyError("invalid_request", `The conversation ending at '${previousId}' is longer than ${MAX_CHAIN} responses.`, { param: "previous_response_id" });
  }
  return { items: turns.reverse().flat(), root };
}
