/**
 * What a grammar will cost llama.cpp, and whether it can be satisfied at all, found before it is
 * given to the sampler (on the rules gbnf-parse.ts builds, which are llama.cpp's own).
 *
 * Satisfiable: every rule the grammar can reach must match some text that a model can write
 * (not only U+0000, which llama.cpp never lets a grammar produce, and no empty class such as
 * `[z-a]`). Otherwise the sampler could reach a point where no token is allowed.
 *
 * Cost. llama.cpp keeps a set of parse stacks; to mask the vocabulary it walks, for every token,
 * each stack that accepts the token's first character, advances it, and recurses on the next
 * character with every stack that advancing produced (llama_grammar_reject_candidates_for_stack).
 * An ambiguous grammar multiplies stacks at every character: `[ab]* [ab]* … [ab]*` (100 loops) has
 * ~100 live stacks after each `a`, and a token `aaaa` visits 100⁴ of them, in one sampling step
 * that every other sequence of the batch waits for. gbnf-cost.ts bounds the stacks one token can
 * visit; a grammar over the budget is refused, as are grammars too large (rules, alternatives).
 */
import { GrammarConversionError } from "./gbnf.ts";
import { tokenCost as computeTokenCost } from "./gbnf-cost.ts";
import { accepted, LeftRecursion } from "./gbnf-stacks.ts";
import type { GbnfElement, GbnfRules } from "./gbnf-parse.ts";

export interface GrammarBudget {
  /** Most rules after llama.cpp's rewriting (default 5000). */
  readonly maxRules?: number;
  /** Most alternatives in one rule (default 2000). */
  readonly maxAlternatives?: number;
  /** Largest stack-visit bound for one token (default 10 000). */
  readonly maxTokenCost?: number;
  /** Token lengths the cost is computed for: any string of `anyChars`, runs of one character `runChars` long (defaults 6, 32). */
  readonly anyChars?: number;
  readonly runChars?: number;
}

export interface GrammarStats {
  readonly rules: number;
  readonly maxAlternatives: number;
  /** The stack-visit bound for one token (gbnf-cost.ts). */
  readonly tokenCost: number;
}

/** A grammar over the budget, or one that cannot be satisfied: a 400 naming the field. */
export class GrammarRejected extends GrammarConversionError {}

export function analyzeGbnf(grammar: GbnfRules, budget: GrammarBudget = {}): GrammarStats {
  const maxRules = budget.maxRules ?? 5000;
  const maxAlternatives = budget.maxAlternatives ?? 2000;
  const { rules, names } = grammar;
  if (rules.length > maxRules) throw new GrammarRejected(`the grammar has ${rules.length} rules once llama.cpp expands it, more than the ${maxRules} allowed`, "grammar size");
  let widest = 0;
  rules.forEach((alternatives, id) => {
    widest = Math.max(widest, alternatives.length);
    if (alternatives.length > maxAlternatives) {
      throw new GrammarRejected(`rule \`${visibleName(names, id)}\` has ${alternatives.length} alternatives, more than the ${maxAlternatives} allowed`, "grammar size");
    }
  });
  checkSatisfiable(grammar);
  let tokenCost: number;
  const maxTokenCost = budget.maxTokenCost ?? 10_000;
  try {
    tokenCost = computeTokenCost(grammar, {
      stopAbove: maxTokenCost,
      ...(budget.anyChars === undefined ? {} : { anyChars: budget.anyChars }),
      ...(budget.runChars === undefined ? {} : { runChars: budget.runChars }),
    });
  } catch (error) {
    if (error instanceof LeftRecursion) throw new GrammarRejected("the grammar is left-recursive, which llama.cpp does not support", "left recursion");
    if (error instanceof RangeError) throw new GrammarRejected("the grammar nests too deeply to be analysed", "grammar complexity");
    throw error;
  }
  if (tokenCost > maxTokenCost) {
    throw new GrammarRejected(
      `it is too ambiguous to enforce at an acceptable cost (llama.cpp would follow more than ${maxTokenCost} parse states for some tokens): avoid adjacent repetitions that can match the same text, such as (a|b)*(a|b)*`,
      "grammar complexity",
    );
  }
  return { rules: rules.length, maxAlternatives: widest, tokenCost };
}

/** The name a user wrote for a rule llama.cpp generated (`value_12` → `value`). */
function visibleName(names: readonly string[], id: number): string {
  return (names[id] ?? String(id)).replace(/_\d+$/, "");
}

/** Every rule reachable from root must match some text a model can write. */
function checkSatisfiable({ rules, names, root }: GbnfRules): void {
  const productive = new Array<boolean>(rules.length).fill(false);
  const elementProductive = (e: GbnfElement) => (e.kind === "ref" ? productive[e.rule] === true : accepted(e).length > 0);
  for (let changed = true; changed; ) {
    changed = false;
    rules.forEach((alternatives, id) => {
      if (!productive[id] && alternatives.some((alt) => alt.every(elementProductive))) {
        productive[id] = true;
        changed = true;
      }
    });
  }
  const seen = new Set<number>([root]);
  const todo = [root];
  for (let id = todo.pop(); id !== undefined; id = todo.pop()) {
    for (const alt of rules[id] ?? []) {
      for (const element of alt) {
        if (!elementProductive(element)) {
          const what = element.kind === "ref" ? `rule \`${visibleName(names, element.rule)}\`` : "a character class";
          throw new GrammarRejected(
            `${what} in rule \`${visibleName(names, id)}\` matches no text a model can write (an empty class, or only U+0000), yet generation could reach it`,
            "unsatisfiable grammar",
          );
        }
        if (element.kind === "ref" && !seen.has(element.rule)) {
          seen.add(element.rule);
          todo.push(element.rule);
        }
      }
    }
  }
}
