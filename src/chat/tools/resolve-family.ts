/**
 * Which tool-call format a model's template gets, and why:
 * 1. a hand-written family whose `detect` accepts the template, unless the template's own
 *    rendering of calls shows another format that derivation can read (the family's markers were
 *    mentioned, but not used for calls: e.g. a template that names `<tool_call>` in its
 *    instructions yet writes `<tool_calls>[…]`);
 * 2. else a format derived from the template (derive.ts);
 * 3. else the generic envelope, with the reason derivation failed.
 * Without a way to render (a client's template, rendered in a sandbox), only step 1 and 3 apply.
 */
import type { ToolFamilyDefinition } from "./family.ts";
import { deriveToolCallSyntax, readsBack, type ProbeRender } from "./derive.ts";
import { FAMILIES } from "./detect.ts";
import { genericFamily } from "./families/generic.ts";
import type { ToolCallSyntax } from "./syntax.ts";

export interface ResolvedToolFamily {
  readonly family: ToolFamilyDefinition;
  /** Why this family, for the start-up log. */
  readonly reason: string;
}

export function resolveToolFamily(source: string, render: ProbeRender | undefined): ResolvedToolFamily {
  const named = FAMILIES.find((family) => family.detect(source));
  if (render === undefined) return named === undefined ? { family: genericFamily, reason: "no family's markers in the template" } : { family: named, reason: "its markers are in the template" };
  const derivation = deriveToolCallSyntax(render);
  if (named !== undefined) {
    const confirmed = derivation.calls === undefined || readsBack(named.syntax, derivation.calls);
    if (confirmed || derivation.syntax === undefined) return { family: named, reason: "its markers are in the template" };
    return { family: derivedFamily(derivation.syntax), reason: `the template mentions ${named.syntax.family}'s markers but writes calls otherwise` };
  }
  if (derivation.syntax !== undefined) return { family: derivedFamily(derivation.syntax), reason: derivation.reason };
  return { family: genericFamily, reason: `no family's markers in the template, and no format could be derived: ${derivation.reason}` };
}

function derivedFamily(syntax: ToolCallSyntax): ToolFamilyDefinition {
  return { syntax, detect: () => false, nativeTools: true, origin: "derived" };
}
