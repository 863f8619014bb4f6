/** Grammar checks for tests, with llama.cpp's own grammar engine. */
import type { LlamaGrammar } from "node-llama-cpp";

/** Whether the grammar accepts the whole text (node-llama-cpp's internal full-match test). */
export function accepts(grammar: LlamaGrammar, text: string): boolean {
  return (grammar as unknown as { _testText(text: string): boolean })._testText(text);
}
