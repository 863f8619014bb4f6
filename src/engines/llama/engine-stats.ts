/**
 * The llama engine's `stats()` (engines/types.ts EngineStats): its slot pools' load summed, the
 * decode batch counters, and the prompt cache's counters when it has one. Apart from engine.ts so
 * that file keeps to the request path.
 */
import type { EngineStats } from "../types.ts";
import type { PromptCache } from "./prompt-cache-slots.ts";
import type { SequencePool } from "./sequence-pool.ts";
import type { BatchStats } from "./batch-stats.ts";
import type { DraftCounter } from "./drafting.ts";

export function llamaEngineStats(pools: Iterable<SequencePool<unknown>>, batchStats: BatchStats | undefined, promptCache: PromptCache | undefined, drafts?: DraftCounter): EngineStats {
  let queued = 0;
  let active = 0;
  let slots = 0;
  let held = 0;
  let reclaimed = 0;
  for (const pool of pools) {
    queued += pool.waitingRequests;
    active += pool.activeItems;
    slots += pool.size;
    held += pool.heldItems;
    reclaimed += pool.reclaimed;
  }
  const batches = batchStats?.snapshot();
  return {
    queued,
    active,
    slots,
    held,
    reclaimed,
    ...(batches === undefined ? {} : { batches }),
    ...(promptCache === undefined ? {} : { promptCache: promptCache.stats() }),
    ...(drafts === undefined ? {} : { drafts: { accepted: drafts.accepted, rejected: drafts.rejected } }),
  };
}
