/**
 * The tool-calling fields of a chat request → the domain `ToolsRequest`: OpenAI's `tools`,
 * `tool_choice` and `parallel_tool_calls`, and the legacy `functions` / `function_call`, which map
 * onto the same thing (then answered with `message.function_call`, one call at most).
 */
import { z } from "zod";
import type { FieldIssue } from "../domain/errors.ts";
import type { ToolChoice, ToolDefinition, ToolsRequest } from "../domain/tools.ts";

/** OctoAI's limit, and more than any template renders usefully. */
export const MAX_TOOLS = 128;
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

const functionName = z.string().regex(TOOL_NAME, "function names must match ^[a-zA-Z0-9_-]{1,64}$");
const functionDefinition = z.object({
  name: functionName,
  description: z.string().nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
});
const namedFunction = z.object({ name: z.string() });

export const toolFields = z.object({
  tools: z
    .array(z.object({ type: z.literal("function", "only tools of type `function` are supported"), function: functionDefinition }))
    .max(MAX_TOOLS)
    .nullish(),
  tool_choice: z.union([z.enum(["none", "auto", "required"]), z.object({ type: z.literal("function"), function: namedFunction })]).nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  functions: z.array(functionDefinition).max(MAX_TOOLS).nullish(),
  function_call: z.union([z.enum(["none", "auto"]), namedFunction]).nullish(),
});

type ToolWire = z.infer<typeof toolFields>;

/** The request's tools, or undefined when it offers none; problems are added to `issues`. */
export function toToolsRequest(wire: ToolWire, issues: FieldIssue[]): ToolsRequest | undefined {
  const legacy = wire.functions != null || wire.function_call != null;
  if (legacy && (wire.tools != null || wire.tool_choice != null)) {
    issues.push({ path: ["functions"], message: "Use either `tools`/`tool_choice` or the legacy `functions`/`function_call`, not both.", type: "conflict" });
    return undefined;
  }
  const listField = legacy ? "functions" : "tools";
  const choiceField = legacy ? "function_call" : "tool_choice";
  const definitions: ToolDefinition[] = (legacy ? (wire.functions ?? []) : (wire.tools ?? []).map((t) => t.function)).map((f, i) => ({
    name: f.name,
    description: f.description ?? undefined,
    parameters: argumentsSchema(f.parameters, legacy ? [listField, i, "parameters"] : [listField, i, "function", "parameters"], issues),
    strict: f.strict ?? false,
  }));
  const seen = new Set<string>();
  definitions.forEach((d, i) => {
    if (seen.has(d.name)) issues.push({ path: legacy ? [listField, i, "name"] : [listField, i, "function", "name"], message: `Duplicate function name \`${d.name}\`.`, type: "duplicate" });
    seen.add(d.name);
  });

  const wireChoice = legacy ? wire.function_call : wire.tool_choice;
  const choice = toChoice(wireChoice);
  if (choice.kind === "function" && definitions.length > 0 && !seen.has(choice.name)) {
    issues.push({ path: [choiceField], message: `\`${choiceField}\` names \`${choice.name}\`, which is not among the ${listField}.`, type: "invalid_value" });
  }
  if (definitions.length === 0) {
    if (wireChoice != null && choice.kind !== "none" && choice.kind !== "auto") {
      issues.push({ path: [choiceField], message: `\`${choiceField}\` is only allowed when ${listField} are given.`, type: "invalid_value" });
    }
    return undefined;
  }
  return { definitions, choice, parallel: !legacy && (wire.parallel_tool_calls ?? true), legacy };
}

/**
 * Arguments are always a JSON object: no `parameters` means no arguments, a schema without `type`
 * is given `type: "object"`, and any other root type is a 400 (as OpenAI does).
 */
function argumentsSchema(parameters: Record<string, unknown> | null | undefined, path: (string | number)[], issues: FieldIssue[]): Record<string, unknown> {
  if (parameters == null) return { type: "object", properties: {}, additionalProperties: false };
  if (parameters.type === undefined) return { type: "object", ...parameters };
  if (parameters.type !== "object") issues.push({ path: [...path, "type"], message: 'Function parameters must be a JSON Schema of `type: "object"`.', type: "invalid_value" });
  return parameters;
}

function toChoice(wire: ToolWire["tool_choice"] | ToolWire["function_call"]): ToolChoice {
  if (wire == null || wire === "auto") return { kind: "auto" };
  if (wire === "none") return { kind: "none" };
  if (wire === "required") return { kind: "required" };
  return { kind: "function", name: "function" in wire ? wire.function.name : wire.name };
}
