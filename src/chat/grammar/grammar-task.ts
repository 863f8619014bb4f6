/**
 * The grammar task that runs in a worker thread (util/task-worker.ts): conversion to GBNF and its
 * checks are proportional to the request's schema, regex or grammar, so they run off the event
 * loop and within a time budget.
 */
import type { GrammarBudget } from "./gbnf-analysis.ts";
import { buildGrammarSource, type GrammarSource, type GrammarSpec } from "./grammar-source.ts";

export interface GrammarTask {
  readonly spec: GrammarSpec;
  readonly budget: GrammarBudget;
}

export function handle(task: GrammarTask): GrammarSource {
  return buildGrammarSource(task.spec, task.budget);
}
