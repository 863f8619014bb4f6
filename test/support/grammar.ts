/** Grammar checks for tests, with llama.cpp's own grammar engine. */
import { after, before } from "node:test";
import { getLlama, type Llama, type LlamaGrammar } from "node-llama-cpp";
import type { ToolCallSyntax } from "../../src/chat/tools/syntax.ts";
import { toolGrammar } from "../../src/chat/tools/tool-grammar.ts";
import type { ToolChoice, ToolDefinition, ToolsRequest } from "../../src/domain/tools.ts";

/** Whether the grammar accepts the whole text (node-llama-cpp's internal full-match test). */
export function accepts(grammar: LlamaGrammar, text: string): boolean {
  return (grammar as unknown as { _testText(text: string): boolean })._testText(text);
}

export interface ToolGrammarChecks {
  /** The llama.cpp instance (loaded before the file's tests). */
  readonly llama: () => Llama;
  /** The request's tools: `definitions` (default: the file's tools) offered with `choice`. */
  readonly tools: (choice: ToolChoice, parallel?: boolean, definitions?: readonly ToolDefinition[]) => ToolsRequest;
  /** The `tool_choice` grammar of `definitions` (default: the file's tools) in `syntax`, compiled by llama.cpp. */
  readonly grammarFor: (syntax: ToolCallSyntax, choice: ToolChoice, parallel?: boolean, definitions?: readonly ToolDefinition[]) => Promise<LlamaGrammar>;
}

/** Loads llama.cpp (CPU) before a test file's tests and disposes of it after; compiles tool grammars for `tools`. */
export function toolGrammarChecks(tools: readonly ToolDefinition[]): ToolGrammarChecks {
  let loaded: Llama | undefined;
  before(async () => {
    loaded = await getLlama({ gpu: false });
  });
  after(async () => {
    await loaded?.dispose();
  });
  const llama = (): Llama => {
    if (loaded === undefined) throw new Error("llama.cpp is loaded in `before`");
    return loaded;
  };
  const request = (choice: ToolChoice, parallel = true, definitions = tools): ToolsRequest => ({ definitions: [...definitions], choice, parallel, legacy: false });
  return {
    llama,
    tools: request,
    grammarFor: (syntax, choice, parallel, definitions) => llama().createGrammar({ grammar: toolGrammar({ syntax, tools: request(choice, parallel, definitions) }).gbnf }),
  };
}
