/**
 * How a raw per-parameter value (the "xml-params" shape of syntax.ts, e.g. Qwen3-Coder's
 * `<parameter=city>\nOslo\n</parameter>`) becomes JSON, decided from the tool's JSON Schema. The
 * parser (xml-call-parser.ts) and the grammar (xml-call-grammar.ts) both ask here, so what the
 * grammar writes is what the parser reads:
 *
 *  - "string": the schema is a string (`type: "string"`, or an `enum` / `const` of strings): the
 *    raw text is the string;
 *  - "json": the schema admits no strings (numbers, booleans, null, objects, arrays): the raw
 *    text is JSON;
 *  - undefined: not typed, or strings among other types: JSON when the text parses as JSON, else
 *    the string.
 */
import type { ToolDefinition } from "../../domain/tools.ts";

export type ParameterKind = "string" | "json";

/** The kind of parameter `param` of tool `tool`, undefined when unknown or untyped. */
export type ParameterTypes = (tool: string, param: string) => ParameterKind | undefined;

type Schema = Readonly<Record<string, unknown>>;

function isSchema(value: unknown): value is Schema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Follows local `$ref`s (`#/…` JSON pointers into `root`), a few levels at most; undefined when one points nowhere. */
export function resolveLocalRef(schema: unknown, root: unknown): unknown {
  let current = schema;
  for (let depth = 0; depth < 8 && isSchema(current) && typeof current.$ref === "string"; depth++) {
    const ref = current.$ref;
    if (!ref.startsWith("#")) return undefined;
    let target: unknown = root;
    const pointer = decodeURIComponent(ref.slice(1));
    for (const raw of pointer === "" ? [] : pointer.slice(1).split("/")) {
      const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
      target = isSchema(target) || Array.isArray(target) ? (target as Record<string, unknown>)[key] : undefined;
    }
    current = target;
  }
  return current;
}

/** The kind of a property's schema (`root` is the tool's parameters schema, for `$ref`s). */
export function parameterKind(schema: unknown, root: unknown): ParameterKind | undefined {
  const s = resolveLocalRef(schema, root);
  if (!isSchema(s) || s.$ref !== undefined || s.nullable === true) return undefined;
  if (s.anyOf !== undefined || s.oneOf !== undefined || s.allOf !== undefined) return undefined;
  const typeList = s.type === undefined ? undefined : Array.isArray(s.type) ? s.type : [s.type];
  const values = "const" in s ? [s.const] : Array.isArray(s.enum) ? s.enum : undefined;
  if (values !== undefined && values.length > 0) {
    if (typeList !== undefined && !typeList.every((t) => typeof t === "string")) return undefined;
    const strings = values.filter((v) => typeof v === "string").length;
    if (strings === values.length) return "string";
    return strings === 0 ? "json" : undefined;
  }
  if (typeList === undefined || typeList.length === 0) return undefined;
  if (typeList.length === 1 && typeList[0] === "string") return "string";
  return typeList.includes("string") ? undefined : "json";
}

/** The schema of parameter `param` in a tool's parameters schema: declared, or its `additionalProperties` schema. */
export function parameterSchema(parameters: Schema, param: string): unknown {
  const properties = isSchema(parameters.properties) ? parameters.properties : {};
  if (Object.hasOwn(properties, param)) return properties[param];
  return isSchema(parameters.additionalProperties) ? parameters.additionalProperties : undefined;
}

/** Parameter kinds for a request's tools. */
export function parameterTypesOf(tools: readonly ToolDefinition[]): ParameterTypes {
  const byTool = new Map(tools.map((tool) => [tool.name, tool.parameters]));
  const cache = new Map<string, ParameterKind | undefined>();
  return (tool, param) => {
    const parameters = byTool.get(tool);
    if (parameters === undefined) return undefined;
    const key = `${tool}\u0000${param}`;
    if (!cache.has(key)) cache.set(key, parameterKind(parameterSchema(parameters, param), parameters));
    return cache.get(key);
  };
}
