/**
 * GBNF for "any text that contains none of these strings": the tool-call grammars use it for the
 * content a model may write before (or instead of) a call, so that content can never contain a
 * tool-call marker.
 *
 * Built from the matching automaton of the forbidden strings (Aho–Corasick without output
 * states): one rule per proper prefix of a forbidden string, each a right-linear choice of the
 * next character, so the grammar is regular and llama.cpp's grammar stacks do not grow with the
 * text. Characters that occur in no forbidden string all lead back to the start state through a
 * single negated character class.
 */
import { gbnfCharClass, gbnfLiteral, type GrammarBuilder } from "./gbnf.ts";

/** Adds the rules to `builder` and returns the name of the rule matching the allowed texts. */
export function avoidingText(builder: GrammarBuilder, forbidden: readonly string[], hint = "text"): string {
  const words = [...new Set(forbidden.filter((w) => w !== ""))].map((w) => [...w].map((c) => c.codePointAt(0) ?? 0));
  if (words.length === 0) return builder.addRule(hint, `${gbnfCharClass([], true)}*`);
  const key = (cps: readonly number[]): string => String.fromCodePoint(...cps);
  // States: every proper prefix of a forbidden word (including the empty one), in BFS order.
  const states = new Map<string, number[]>([["", []]]);
  for (const word of words) for (let i = 1; i < word.length; i++) states.set(key(word.slice(0, i)), word.slice(0, i));
  const alphabet = [...new Set(words.flat())].sort((a, b) => a - b);
  const forbiddenKeys = new Set(words.map(key));

  const names = new Map<string, string>();
  for (const state of states.keys()) names.set(state, builder.reserve(`${hint}-${names.size}`));
  const nameOf = (state: string): string => names.get(state) ?? "";
  for (const [state, cps] of states) {
    const alternatives: string[] = [];
    for (const c of alphabet) {
      const next = advance([...cps, c], states, forbiddenKeys);
      if (next === undefined) continue; // this character would complete a forbidden word
      alternatives.push(`${gbnfLiteral(String.fromCodePoint(c))} ${nameOf(next)}`);
    }
    alternatives.push(
      `${gbnfCharClass(
        alphabet.map((c) => [c, c] as const),
        true,
      )} ${nameOf("")}`,
    );
    builder.define(nameOf(state), `( ${alternatives.join(" | ")} )?`);
  }
  return nameOf("");
}

/** The state after reading `text`: its longest suffix that is a state; undefined if a forbidden word ends here. */
function advance(text: readonly number[], states: ReadonlyMap<string, unknown>, forbidden: ReadonlySet<string>): string | undefined {
  for (let start = 0; start < text.length; start++) {
    if (forbidden.has(String.fromCodePoint(...text.slice(start)))) return undefined;
  }
  for (let start = 0; start <= text.length; start++) {
    const suffix = String.fromCodePoint(...text.slice(start));
    if (states.has(suffix)) return suffix;
  }
  return "";
}
