/**
 * How one model family writes tool calls, as data: the parsers (tool-call-parser.ts,
 * named-call-parser.ts, xml-call-parser.ts, literal-call-parser.ts) read it, the grammar builder
 * (tool-grammar.ts) writes it, and a family file (families/*.ts) fills it in. Four call shapes:
 *
 *  - "json-object" (JsonObjectSyntax): a section is `sectionOpen call (separator call)* sectionClose`,
 *    and each call is `callOpen {["<idKey>": "<n>", ]"<nameKey>": "<name>", "<argumentsKey>": <arguments JSON>} callClose`.
 *    The parser also accepts the usual variations of it (whitespace, key order, `parameters` for
 *    `arguments`, `alternativeTriggers`).
 *  - "named-json" (NamedJsonSyntax): the name sits outside the JSON; each call is
 *    `callOpen [namePrefix]<name>[:<n>] nameClose <arguments JSON object> callClose`, e.g. Mistral's
 *    `[TOOL_CALLS]get_weather[ARGS]{"city": "Oslo"}`.
 *  - "xml-params" (XmlParamsSyntax): the name sits outside, and each argument is an element of its
 *    own holding the raw value: `callOpen <name> nameClose (paramOpen <key> paramNameClose <value>
 *    paramClose)* callClose`, e.g. Qwen3-Coder's `<tool_call>\n<function=get_weather>\n<parameter=city>\nOslo\n</parameter>\n</function>\n</tool_call>`.
 *  - "literal-args" (LiteralArgsSyntax): the name sits outside, and the arguments are keyword
 *    arguments whose values are literals of the family's own syntax: `callOpen <name>
 *    argumentsOpen (<key> keyValueSeparator <literal>, …) argumentsClose callClose`, e.g. LFM2's
 *    `<|tool_call_start|>[get_weather(city="Oslo", days=3)]<|tool_call_end|>` or Gemma 4's
 *    `<|tool_call>call:get_weather{city:<|"|>Oslo<|"|>,days:3}<tool_call|>`.
 *
 * Text before the section is content. The grammar writes exactly the form above.
 */

export type ToolFamily =
  | "hermes"
  | "llama3"
  | "mistral"
  | "granite"
  | "command-r7b"
  | "derived"
  | "generic"
  | "mistral-v11"
  | "deepseek-v3"
  | "deepseek-v3.1"
  | "kimi-k2"
  | "functionary-v3.1"
  | "harmony"
  | "functionary-v3.2"
  | "qwen3-coder"
  | "seed-oss"
  | "glm-4.5"
  | "glm-4.7"
  | "minimax-m2"
  | "lfm2"
  | "gemma-4";

/** A family's call syntax, by the shape of its calls. */
export type ToolCallSyntax = JsonObjectSyntax | NamedJsonSyntax | XmlParamsSyntax | LiteralArgsSyntax;

/** What both shapes have: the section's markup, triggers and marker tokens. */
interface SyntaxBase {
  readonly family: ToolFamily;
  /**
   * Texts that begin a tool-call section. Content may not contain them (the grammar forbids it);
   * the parser holds back any text that could still become one.
   */
  readonly triggers: readonly string[];
  /** Opens the section, once (e.g. Mistral's `[TOOL_CALLS][`); "" when calls have no wrapper. */
  readonly sectionOpen: string;
  /** Closes the section (e.g. `]`); "" when none. */
  readonly sectionClose: string;
  /** Opens each call (e.g. `<tool_call>`); "" when none. */
  readonly callOpen: string;
  /** Closes each call (e.g. `</tool_call>`); "" when none. */
  readonly callClose: string;
  /** Between two calls (e.g. "\n" or ", "). */
  readonly separator: string;
  /** Most calls in one turn the family can express (Infinity when unlimited). */
  readonly maxCalls: number;
  /**
   * Marker texts that may be control tokens in the vocabulary (e.g. `<|python_tag|>`,
   * `[TOOL_CALLS]`): the engine shows their text to the parser instead of hiding it.
   */
  readonly markerTokens: readonly string[];
  /**
   * Texts the parser treats as the start of a section too, though the grammar never writes them
   * (e.g. `<|python_tag|>` before a Llama 3 JSON call). They are dropped, and a call (`callOpen` …)
   * follows.
   */
  readonly alternativeTriggers: readonly string[];
  /**
   * For formats where every message has a header that the grammar writes too (gpt-oss's Harmony):
   * `lead` may come first (`<|start|>assistant`), then either `content` (the header of a plain
   * answer, `<|channel|>final<|message|>`) and the answer, or a section, never both. Default none:
   * the grammar starts where the message's text does.
   */
  readonly header?: { readonly lead: string; readonly content: string };
}

/** Calls that are JSON objects holding their name (`{"name": …, "arguments": …}`). */
export interface JsonObjectSyntax extends SyntaxBase {
  /** The shape (the default: families written before there were two may leave it out). */
  readonly shape?: "json-object";
  /** The arguments key the grammar writes: "arguments" or "parameters" (the parser accepts both). */
  readonly argumentsKey: "arguments" | "parameters";
  /** The name key the grammar writes (default "name"; the parser accepts "name" and "tool_name"). */
  readonly nameKey?: "name" | "tool_name";
  /**
   * A key the grammar writes first in each call, holding the call's number as a string (Command
   * R7B's `"tool_call_id": "0"`); the parser skips it like any extra key. Default none.
   */
  readonly idKey?: string;
}

/**
 * Calls whose name is written outside a JSON arguments object: `callOpen`, the name, `nameClose`,
 * the arguments object, `callClose`. Wrappers around the arguments (DeepSeek V3's
 * "\n```json\n" … "\n```") belong to `nameClose` and `callClose`. The triggers are prefixes of
 * `sectionOpen + callOpen`.
 */
export interface NamedJsonSyntax extends SyntaxBase {
  readonly shape: "named-json";
  /** Between the name and the arguments (e.g. `[ARGS]`, `<｜tool▁sep｜>`, `>`). */
  readonly nameClose: string;
  /** Written before the name (Kimi K2's `functions.`); the parser strips it when present. Default "". */
  readonly namePrefix?: string;
  /**
   * The name carries the call's number after this text (Kimi K2's `functions.get_weather:0`): the
   * grammar writes digits, the parser strips them. Default none.
   */
  readonly nameIndexSeparator?: string;
  /**
   * Marker for a call id the model may write between the name and `nameClose` (Mistral Small
   * 3.2's `[CALL_ID]`): the parser skips it and the id; the grammar never writes it. Default none.
   */
  readonly callIdMarker?: string;
  /**
   * The generation prompt ends with the opening of the model's first part, which its output
   * continues (Functionary v3.2's `>>>`): the parser reads the output as if after this text, and
   * the grammar does not write it. Default none.
   */
  readonly promptEnd?: string;
  /**
   * A name that addresses the user, not a function (Functionary v3.2's `>>>all\n`): the text after
   * its `nameClose` is content. Default none.
   */
  readonly contentName?: string;
}

/**
 * Calls whose name is written outside the arguments, each argument an element of its own holding
 * the raw value: `callOpen`, the name, `nameClose`, then per parameter `paramOpen`, its name,
 * `paramNameClose`, the value, `paramClose`, and finally `callClose`. Values are raw text, turned
 * into JSON by the tool's schema (parameter-types.ts). Whitespace that `paramNameClose` ends with
 * and `paramClose` starts with (Qwen3-Coder's `>\n` … `\n</parameter>`) is markup, not value.
 * `paramClose` is whitespace, one closing tag, whitespace. The first piece of `callClose` ends the
 * call (Qwen3-Coder's `</function>`), the rest may be missing. Parsed by xml-call-parser.ts.
 */
export interface XmlParamsSyntax extends SyntaxBase {
  readonly shape: "xml-params";
  /** Between the name and the first parameter (e.g. `>\n`; "" for GLM 4.7's `<tool_call>name<arg_key>`). */
  readonly nameClose: string;
  /** Opens a parameter, before its name (e.g. `<parameter=`, `<arg_key>`, `<parameter name="`). */
  readonly paramOpen: string;
  /** Between a parameter's name and its value (e.g. `>\n`, `</arg_key><arg_value>`, `">`). */
  readonly paramNameClose: string;
  /** After a value (e.g. `\n</parameter>\n`, `</arg_value>`). */
  readonly paramClose: string;
  /**
   * For families that mark a value written as JSON apart from a string (DeepSeek V3.2's
   * `<｜DSML｜parameter name="days" string="false">3</…>`): the markup between such a value's
   * parameter name and the value, `paramNameClose` then closing strings only. The markup, not the
   * schema, then says which kind a value is. Default none: one `paramNameClose`, the schema decides.
   */
  readonly jsonParamNameClose?: string;
}

/**
 * Calls whose arguments are keyword arguments with literal values in a syntax of the family's
 * own: `callOpen`, the name, `argumentsOpen`, then `<key> keyValueSeparator <value>` separated by
 * commas, `argumentsClose`, `callClose` (which may be missing). Values are strings, numbers, the
 * words of `literals`, lists `[…]` and dicts `{…}`, turned into JSON by their syntax
 * (literal-value.ts); a value the tool's schema types as a string may also be a bare word.
 * Parsed by literal-call-parser.ts, written by literal-call-grammar.ts.
 */
export interface LiteralArgsSyntax extends SyntaxBase {
  readonly shape: "literal-args";
  /** Opens the arguments, right after the name: `(` (LFM2's Python calls) or `{` (Gemma 4). */
  readonly argumentsOpen: string;
  /** Closes the arguments and ends the call: one character, `)` or `}`. */
  readonly argumentsClose: string;
  /** Between an argument's name and its value: `=` (Python) or `:` (Gemma 4). */
  readonly keyValueSeparator: string;
  /** Between two arguments or items, as the grammar writes it (", " or ","); the parser reads a comma with any whitespace. */
  readonly itemSeparator: string;
  /**
   * Texts that open and close a string; the parser reads all, the grammar writes the first. A
   * one-character quote (`"`, `'`) takes Python's backslash escapes; a longer delimiter (Gemma
   * 4's `<|"|>` token) encloses raw text.
   */
  readonly stringDelimiters: readonly string[];
  /** Keys inside dict values as the grammar writes them: quoted (`{"k": 1}`) or bare (`{k:1}`); the parser reads either. */
  readonly dictKeys: "quoted" | "bare";
  /** Words the parser reads as true, false and null (Python's `True`, `False`, `None` beside JSON's). */
  readonly literals: Readonly<Record<string, boolean | null>>;
  /**
   * How the grammar writes values: "json" when JSON is valid in this syntax (the parser reading
   * JSON's `true` / `false` / `null` too), so the JSON-schema converter writes them; "literal": in
   * the family's own syntax (literal-value-grammar.ts).
   */
  readonly valueGrammar: "json" | "literal";
  /** The grammar writes arguments and dict keys sorted by name, as the family's templates render them (default false: declared order). */
  readonly sortedKeys?: boolean;
}
