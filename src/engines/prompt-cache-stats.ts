/**
 * Sums the prompt-cache counters of several engines (engines/types.ts PromptCacheStats), for the
 * router's one `stats()` that `/metrics` reads. Apart from types.ts, which holds no code.
 */
import type { PromptCacheStats } from "./types.ts";

/** `a` + `b`, field by field; undefined when neither has a prompt cache. */
export function addPromptCacheStats(a: PromptCacheStats | undefined, b: PromptCacheStats | undefined): PromptCacheStats | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  const sum = {} as Record<keyof PromptCacheStats, number>;
  for (const field of Object.keys(a) as (keyof PromptCacheStats)[]) sum[field] = a[field] + b[field];
  return sum;
}
