/**
 * The edge's share of the request limits (domain/limits.ts): cheap checks that run before any
 * expensive step. `shapeIssues` walks the parsed body once, iteratively (no recursion, so no
 * stack overflow), before zod sees it: nesting depth and the number of messages. `sizeIssues`
 * then checks the sizes of the validated fields. Each issue names its field and the limit.
 */
import type { FieldIssue } from "../domain/errors.ts";
import type { RequestLimits } from "../domain/limits.ts";

interface Frame {
  readonly value: unknown;
  readonly depth: number;
  readonly key: string | number | undefined;
  readonly parent: Frame | undefined;
}

/** The path of the first node nested deeper than `maxDepth`, if any (objects and arrays count one level each). */
export function tooDeep(root: unknown, maxDepth: number): (string | number)[] | undefined {
  const stack: Frame[] = [{ value: root, depth: 0, key: undefined, parent: undefined }];
  for (let frame = stack.pop(); frame !== undefined; frame = stack.pop()) {
    const { value } = frame;
    if (typeof value !== "object" || value === null) continue;
    const depth = frame.depth + 1;
    if (depth > maxDepth) return pathOf(frame);
    if (Array.isArray(value)) value.forEach((item, index) => stack.push({ value: item, depth, key: index, parent: frame }));
    else for (const key of Object.keys(value)) stack.push({ value: (value as Record<string, unknown>)[key], depth, key, parent: frame });
  }
  return undefined;
}

function pathOf(frame: Frame): (string | number)[] {
  const path: (string | number)[] = [];
  for (let f: Frame | undefined = frame; f !== undefined; f = f.parent) if (f.key !== undefined) path.push(f.key);
  return path.reverse();
}

/** The issue for `path` nested deeper than `maxDepth` (the body itself, or a schema given as JSON text). */
export function depthIssue(path: readonly (string | number)[], maxDepth: number): FieldIssue {
  return { path, message: `nested too deeply: more than ${maxDepth} levels of objects and arrays (limit jsonDepth).`, type: "too_deep" };
}

/** Top-level fields whose items are named in errors (`tools[2]`). */
const LISTS = new Set(["messages", "tools", "functions"]);

/** Before zod: depth of the whole body, and the message count (so that validation itself stays cheap). */
export function shapeIssues(body: Record<string, unknown>, limits: RequestLimits): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const deep = tooDeep(body, limits.jsonDepth);
  if (deep !== undefined) {
    // The top-level field (and its item, for the lists of messages and tools).
    const field = typeof deep[0] === "string" && LISTS.has(deep[0]) && typeof deep[1] === "number" ? deep.slice(0, 2) : deep.slice(0, 1);
    issues.push(depthIssue(field, limits.jsonDepth));
  }
  const { messages } = body;
  if (Array.isArray(messages) && messages.length > limits.messages) {
    issues.push({ path: ["messages"], message: `${messages.length} messages, more than the ${limits.messages} allowed (limit messages).`, type: "too_big" });
  }
  return issues;
}

/** The validated fields whose size the limits bound. */
export interface SizedFields {
  readonly messages?: readonly { readonly content?: unknown; readonly tool_calls?: unknown; readonly function_call?: unknown }[];
  /** Text completions' input: a prompt (text, token ids, or several of either) and a suffix. */
  readonly prompt?: string | readonly (string | number | readonly number[])[];
  readonly suffix?: string | null | undefined;
  readonly tools?: unknown;
  readonly functions?: unknown;
  readonly stop?: string | readonly string[] | null | undefined;
  readonly response_format?: { readonly type: string; readonly json_schema?: { readonly schema?: unknown } | null | undefined; readonly schema?: unknown } | null | undefined;
  readonly json_schema?: unknown;
  readonly grammar?: string | null | undefined;
  readonly guided_json?: unknown;
  readonly guided_regex?: string | null | undefined;
  readonly guided_choice?: readonly string[] | null | undefined;
  readonly guided_grammar?: string | null | undefined;
  readonly guided_whitespace_pattern?: string | null | undefined;
  readonly structured_outputs?: { readonly json?: unknown; readonly regex?: string | null; readonly choice?: readonly string[] | null; readonly grammar?: string | null } | null | undefined;
  readonly logit_bias?: unknown;
  readonly chat_template_kwargs?: unknown;
}

/** After zod: sizes of JSON-valued fields, grammar sources, stop strings, and the whole input. */
export function sizeIssues(wire: SizedFields, limits: RequestLimits): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const json = (value: unknown, path: (string | number)[]) => {
    if (value == null) return 0;
    const chars = typeof value === "string" ? value.length : JSON.stringify(value).length;
    if (chars > limits.jsonFieldChars) issues.push({ path, message: `${chars} characters of JSON, more than the ${limits.jsonFieldChars} allowed (limit jsonFieldChars).`, type: "too_big" });
    return chars;
  };
  const grammar = (value: string | readonly string[] | null | undefined, path: string[]) => {
    if (value == null) return;
    const chars = typeof value === "string" ? value.length : value.reduce((sum, s) => sum + s.length, 0);
    if (chars > limits.grammarChars) issues.push({ path, message: `${chars} characters, more than the ${limits.grammarChars} allowed (limit grammarChars).`, type: "too_big" });
  };

  json(wire.response_format?.json_schema?.schema, ["response_format", "json_schema", "schema"]);
  json(wire.response_format?.schema, ["response_format", "schema"]);
  json(wire.json_schema, ["json_schema"]);
  json(wire.guided_json, ["guided_json"]);
  json(wire.structured_outputs?.json, ["structured_outputs", "json"]);
  json(wire.logit_bias, ["logit_bias"]);
  json(wire.chat_template_kwargs, ["chat_template_kwargs"]);
  grammar(wire.guided_regex, ["guided_regex"]);
  grammar(wire.guided_grammar, ["guided_grammar"]);
  grammar(wire.grammar, ["grammar"]);
  grammar(wire.guided_choice, ["guided_choice"]);
  grammar(wire.guided_whitespace_pattern, ["guided_whitespace_pattern"]);
  grammar(wire.structured_outputs?.regex, ["structured_outputs", "regex"]);
  grammar(wire.structured_outputs?.grammar, ["structured_outputs", "grammar"]);
  grammar(wire.structured_outputs?.choice, ["structured_outputs", "choice"]);
  const stops = typeof wire.stop === "string" ? [wire.stop] : (wire.stop ?? []);
  stops.forEach((stop, i) => {
    if (stop.length > limits.stopChars) {
      issues.push({
        path: typeof wire.stop === "string" ? ["stop"] : ["stop", i],
        message: `${stop.length} characters, more than the ${limits.stopChars} allowed (limit stopChars).`,
        type: "too_big",
      });
    }
  });

  // Everything the prompt is made of: message text (and earlier calls) and tool definitions, or
  // a text prompt (a token id counts as one character) and its suffix.
  let input = 0;
  for (const field of ["tools", "functions"] as const) {
    const defs = wire[field];
    if (Array.isArray(defs)) defs.forEach((def, i) => (input += json(def, [field, i])));
  }
  const prompts = wire.prompt === undefined ? [] : typeof wire.prompt === "string" ? [wire.prompt] : wire.prompt;
  for (const prompt of prompts) input += typeof prompt === "number" ? 1 : prompt.length;
  input += wire.suffix?.length ?? 0;
  for (const message of wire.messages ?? []) {
    input += typeof message.content === "string" ? message.content.length : message.content == null ? 0 : JSON.stringify(message.content).length;
    if (message.tool_calls != null) input += JSON.stringify(message.tool_calls).length;
    if (message.function_call != null) input += JSON.stringify(message.function_call).length;
  }
  if (input > limits.inputChars) {
    issues.push({
      path: [wire.messages === undefined ? "prompt" : "messages"],
      message: `${input} characters${wire.messages === undefined ? "" : " with the tools' definitions"}, more than the ${limits.inputChars} allowed (limit inputChars).`,
      type: "too_big",
    });
  }
  return issues;
}
