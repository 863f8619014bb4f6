/**
 * Output constraints and tools in each upstream dialect: every constraint is sent in the form the
 * upstream enforces, or refused with a 400 naming the field the client used.
 *
 * | constraint | openai | vllm (≥ 0.12) | llama-server | sglang | parley |
 * |---|---|---|---|---|---|
 * | JSON Schema | `response_format` json_schema (`json_object` for a bare object) | `structured_outputs.json` (`json_object`) | `json_schema` | `response_format` | the client's field |
 * | regex | 400 | `structured_outputs.regex` | `grammar`: GBNF from Parley's regex converter | `regex` | the client's field |
 * | choice | 400 | `structured_outputs.choice` | `grammar`: an alternation of literals | `regex`: an alternation of escaped literals | the client's field |
 * | GBNF grammar | 400 | `structured_outputs.grammar` | `grammar` | `ebnf` | the client's field |
 *
 * llama.cpp's server cannot combine a constraint with tools (it rejects `grammar` with tools and
 * drops `json_schema` for the tools' own grammar), so that pair is a 400 here. It reads
 * `tool_choice` as a string only: a named function becomes `required` with only that tool offered.
 */
import { GrammarConversionError, gbnfLiteral } from "../../chat/grammar/gbnf.ts";
import { regexGrammar } from "../../chat/grammar/regex-to-gbnf.ts";
import type { OutputConstraint } from "../../domain/chat.ts";
import type { ToolChoice, ToolsRequest } from "../../domain/tools.ts";
import { notInDialect, type WireBody } from "./dialect-table.ts";
import type { UpstreamDialect } from "./dialect.ts";

/** Whether a JSON constraint asks for nothing more than a JSON object (OpenAI's `json_object`). */
function isBareObject(c: Extract<OutputConstraint, { kind: "json" }>): boolean {
  return !c.strict && JSON.stringify(c.schema) === '{"type":"object"}';
}

function responseFormat(c: Extract<OutputConstraint, { kind: "json" }>): WireBody {
  return { response_format: isBareObject(c) ? { type: "json_object" } : { type: "json_schema", json_schema: { name: "response", schema: c.schema, strict: c.strict } } };
}

/** The constraint in `dialect`'s fields; a 400 naming `c.field` when the dialect cannot enforce it. */
export function constraintFields(c: OutputConstraint, dialect: UpstreamDialect, modelId: string, tools?: ToolsRequest): WireBody {
  switch (dialect) {
    case "parley":
      return parleyFields(c);
    case "openai":
      if (c.kind === "json") return responseFormat(c);
      throw notInDialect(c.field, dialect, modelId, "OpenAI enforces JSON Schemas (`response_format`) only");
    case "vllm":
      if (c.kind === "json") return { structured_outputs: isBareObject(c) ? { json_object: true } : { json: c.schema } };
      return { structured_outputs: c.kind === "regex" ? { regex: c.pattern } : c.kind === "choice" ? { choice: [...c.choices] } : { grammar: c.gbnf } };
    case "sglang":
      if (c.kind === "json") return responseFormat(c);
      if (c.kind === "regex") return { regex: c.pattern };
      if (c.kind === "choice") return { regex: c.choices.map(escapeRegex).join("|") };
      return { ebnf: c.gbnf };
    case "llama-server":
      if (tools !== undefined && tools.choice.kind !== "none") {
        throw notInDialect(c.field, dialect, modelId, "llama.cpp's server cannot enforce an output constraint together with tools");
      }
      if (c.kind === "json") return { json_schema: c.schema };
      if (c.kind === "grammar") return { grammar: c.gbnf };
      if (c.kind === "choice") return { grammar: `root ::= ${c.choices.map(gbnfLiteral).join(" | ")}\n` };
      try {
        return { grammar: regexGrammar(c.pattern) };
      } catch (error) {
        if (!(error instanceof GrammarConversionError)) throw error;
        throw notInDialect(c.field, dialect, modelId, `the pattern must become a GBNF grammar for llama.cpp's server, and it cannot: ${error.message}`);
      }
  }
}

/** Parley reads every constraint field it accepts: the one the client used. */
function parleyFields(c: OutputConstraint): WireBody {
  const value = c.kind === "json" ? c.schema : c.kind === "regex" ? c.pattern : c.kind === "choice" ? [...c.choices] : c.gbnf;
  if (c.field === "response_format" && c.kind === "json") return responseFormat(c);
  if (c.field.startsWith("structured_outputs.")) return { structured_outputs: { [c.field.slice("structured_outputs.".length)]: value } };
  return { [c.field]: value };
}

/** A literal in a regular expression: every metacharacter escaped. */
export function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&");
}

/** Tools in `dialect`'s fields (the modern `tools` form in every dialect). */
export function toolFields(t: ToolsRequest, dialect: UpstreamDialect): WireBody {
  let definitions = t.definitions;
  let choice: unknown = toolChoice(t.choice);
  let parallel = t.parallel;
  if (dialect === "llama-server" && t.choice.kind === "function") {
    const name = t.choice.name;
    definitions = definitions.filter((d) => d.name === name);
    choice = "required";
    parallel = false;
  }
  const out: WireBody = {
    tools: definitions.map((d) => ({
      type: "function",
      function: { name: d.name, ...(d.description === undefined ? {} : { description: d.description }), parameters: d.parameters, ...(d.strict ? { strict: true } : {}) },
    })),
    tool_choice: choice,
  };
  if (!parallel) out.parallel_tool_calls = false; // legacy `functions`, or one named call: one call at most
  return out;
}

function toolChoice(choice: ToolChoice): unknown {
  return choice.kind === "function" ? { type: "function", function: { name: choice.name } } : choice.kind;
}
