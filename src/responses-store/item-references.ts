/**
 * `item_reference` input items (`{type: "item_reference", id}`): each is replaced, before the body
 * is validated, by the stored item it names: an input item of any of the owner's stored responses
 * (`msg_…`, `fc_…`, `fco_…`), or an output item of one (message, function call, reasoning), as
 * OpenAI resolves them. The dialect then validates the resolved items like any other, and the
 * response stores them (not the references) as its input items, so its conversation still reads
 * whole when the referenced response is gone.
 *
 * An id no stored response of the owner holds (unknown, pruned, deleted, another key's) is a 400
 * naming `input[i].id`, every such reference reported at once. Without a store (`--responses-store
 * off`) nothing is resolved here: the dialect refuses each reference itself.
 */
import type { FieldIssue } from "../domain/errors.ts";
import { validationError } from "../schemas/validation.ts";
import type { ResponseStore } from "./store.ts";

function referencedId(item: unknown): string | undefined {
  if (typeof item !== "object" || item === null || Array.isArray(item)) return undefined;
  const { type, id } = item as { type?: unknown; id?: unknown };
  return type === "item_reference" && typeof id === "string" && id !== "" ? id : undefined;
}

/**
 * `input` with each `item_reference` replaced by the item `owner` stored under its id; `input`
 * itself when it holds none (a string, or no reference). Throws a 400 naming every unknown id.
 */
export function resolveItemReferences(store: ResponseStore, owner: string, input: unknown): unknown {
  if (!Array.isArray(input) || !input.some((item) => referencedId(item) !== undefined)) return input;
  const issues: FieldIssue[] = [];
  const resolved = input.map((item: unknown, index) => {
    const id = referencedId(item);
    if (id === undefined) return item;
    const found = store.item(id, owner);
    if (found === undefined) {
      issues.push({ path: ["input", index, "id"], message: `Item with id '${id}' not found: no stored response of this API key holds it.`, type: "not_found" });
    }
    return found ?? item;
  });
  if (issues.length > 0) throw validationError(issues);
  return resolved;
}
