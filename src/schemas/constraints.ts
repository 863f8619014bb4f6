/**
 * The structured-output fields of a chat request → one domain `OutputConstraint`:
 * OpenAI's `response_format`, vLLM's `guided_json` / `guided_regex` / `guided_choice` /
 * `guided_grammar` (+ `guided_whitespace_pattern`, `guided_decoding_backend`), vLLM 0.12's
 * `structured_outputs: {json | regex | choice | grammar}`, and llama-server's / Fireworks' /
 * Together's forms: top-level `grammar` (GBNF) and `json_schema`, `response_format: {type:
 * "json_object", schema}` and `{type: "json_schema", schema}` without OpenAI's `json_schema`
 * wrapper. More than one constraint is a 400 naming them all.
 */
import { z } from "zod";
import type { OutputConstraint } from "../domain/chat.ts";
import type { FieldIssue } from "../domain/errors.ts";
import { depthIssue, tooDeep } from "./request-limits.ts";

/** Every backend name clients send; Parley serves them all with its own llama.cpp grammars. */
export const DECODING_BACKENDS = ["auto", "llama.cpp", "xgrammar", "outlines", "lm-format-enforcer", "guidance"] as const;

const jsonSchemaObject = z.union([z.record(z.string(), z.unknown()), z.boolean()]);
const openAiJsonSchema = z.object({
  name: z
    .string()
    .max(64)
    .regex(/^[a-zA-Z0-9_-]+$/, "name may contain a-z, A-Z, 0-9, _ and -"),
  description: z.string().nullish(),
  schema: jsonSchemaObject.nullish(),
  strict: z.boolean().nullish(),
});
const responseFormat = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text") }),
  // llama-server, Fireworks and Together accept a schema here too.
  z.object({ type: z.literal("json_object"), schema: jsonSchemaObject.nullish() }),
  // OpenAI's form has `json_schema: {name, schema, strict}`; the others put `schema` beside `type`.
  z
    .object({ type: z.literal("json_schema"), json_schema: openAiJsonSchema.nullish(), schema: jsonSchemaObject.nullish() })
    .refine((f) => (f.json_schema == null) !== (f.schema == null), "give the schema as `json_schema: {name, schema}` (OpenAI) or as `schema` (llama-server), one of them"),
]);
const choices = z.array(z.string()).min(1);
const structuredOutputs = z.object({
  json: z.union([jsonSchemaObject, z.string()]).nullish(),
  regex: z.string().nullish(),
  choice: choices.nullish(),
  grammar: z.string().min(1).nullish(),
});

export const constraintFields = z.object({
  response_format: responseFormat.nullish(),
  guided_json: z.union([jsonSchemaObject, z.string()]).nullish(),
  guided_regex: z.string().nullish(),
  guided_choice: choices.nullish(),
  guided_grammar: z.string().min(1).nullish(),
  guided_whitespace_pattern: z.string().nullish(),
  guided_decoding_backend: z.enum(DECODING_BACKENDS).nullish(),
  structured_outputs: structuredOutputs.nullish(),
  // llama-server's top-level constraint fields
  grammar: z.string().min(1).nullish(),
  json_schema: jsonSchemaObject.nullish(),
});

type ConstraintFields = z.infer<typeof constraintFields>;

/** `maxDepth`: how deeply a schema given as JSON text may nest (the body's own depth is checked at the edge). */
export function toConstraint(wire: ConstraintFields, issues: FieldIssue[], maxDepth: number): OutputConstraint | undefined {
  const found: OutputConstraint[] = [];
  const format = wire.response_format;
  if (format?.type === "json_object") found.push({ kind: "json", schema: format.schema ?? { type: "object" }, strict: false, field: "response_format" });
  if (format?.type === "json_schema") {
    const schema = format.json_schema?.schema ?? format.schema ?? { type: "object" };
    found.push({ kind: "json", schema, strict: format.json_schema?.strict ?? false, field: "response_format" });
  }
  if (wire.json_schema != null) found.push({ kind: "json", schema: wire.json_schema, strict: false, field: "json_schema" });
  if (wire.grammar != null) found.push({ kind: "grammar", gbnf: wire.grammar, field: "grammar" });
  const json = (value: unknown, field: string) => {
    const schema = parseSchema(value, field, issues, maxDepth);
    if (schema !== undefined) found.push({ kind: "json", schema, strict: false, field });
  };
  if (wire.guided_json != null) json(wire.guided_json, "guided_json");
  if (wire.guided_regex != null) found.push({ kind: "regex", pattern: wire.guided_regex, field: "guided_regex" });
  if (wire.guided_choice != null) found.push({ kind: "choice", choices: wire.guided_choice, field: "guided_choice" });
  if (wire.guided_grammar != null) found.push({ kind: "grammar", gbnf: wire.guided_grammar, field: "guided_grammar" });
  const so = wire.structured_outputs;
  if (so?.json != null) json(so.json, "structured_outputs.json");
  if (so?.regex != null) found.push({ kind: "regex", pattern: so.regex, field: "structured_outputs.regex" });
  if (so?.choice != null) found.push({ kind: "choice", choices: so.choice, field: "structured_outputs.choice" });
  if (so?.grammar != null) found.push({ kind: "grammar", gbnf: so.grammar, field: "structured_outputs.grammar" });

  if (found.length > 1) {
    const fields = found.map((c) => c.field);
    issues.push({
      path: fields[1]?.split(".") ?? [],
      message: `Only one output constraint may be given, but the request sets ${fields.map((f) => `\`${f}\``).join(", ")}.`,
      type: "conflict",
    });
  }
  return found[0];
}

/** `guided_json` may be a schema object or its JSON text. */
function parseSchema(value: unknown, field: string, issues: FieldIssue[], maxDepth: number): unknown {
  if (typeof value !== "string") return value;
  let schema: unknown;
  try {
    schema = JSON.parse(value) as unknown;
  } catch (error) {
    issues.push({ path: field.split("."), message: `\`${field}\` is not valid JSON: ${(error as Error).message}`, type: "invalid_json" });
    return undefined;
  }
  if (tooDeep(schema, maxDepth) !== undefined) {
    issues.push(depthIssue(field.split("."), maxDepth));
    return undefined;
  }
  return schema;
}
