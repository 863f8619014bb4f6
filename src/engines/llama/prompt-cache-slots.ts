/**
 * The prompt cache beyond the slots (`--prompt-cache-ram`, `--prompt-cache-dir`): when a slot is
 * about to be reused for a prompt that does not continue what it holds, its state is saved first;
 * when a request's prompt shares a longer prefix with a saved state than with the slot it got, that
 * state is restored into the slot, and only the rest of the prompt is evaluated (the usage's
 * `cached_tokens` then counts the restored tokens, as generate-choice.ts measures the slot's cache).
 *
 * Why save just before reuse rather than whenever a slot is freed: a conversation that comes back
 * while its slot is still untouched needs no save at all, and a slot reused for the same
 * conversation loses nothing; the cost (one `saveStateToFile`, measured in docs/operations.md) is
 * paid by the request that takes the slot, and holds the context's decode for as long (node-llama-cpp
 * takes the context lock to save). Saves and restores happen only on a slot lent to the request that
 * asked, never under a running generation.
 *
 * Thresholds: a state is saved only if reusing the slot would discard at least `minTokens` tokens,
 * and restored only if it brings at least `minTokens` more of the prompt than the slot already
 * holds (default 64: below that, evaluating is about as cheap as restoring). Only the base model's
 * slots have a cache (a LoRA adapter's context has other weights).
 */
import type { Token } from "node-llama-cpp";
import type { Logger } from "../../util/logger.ts";
import type { PromptCacheStats } from "../types.ts";
import type { LocalModelLoad } from "./load-model.ts";
import type { ModelHost } from "./model-host.ts";
import { DEFAULT_PROMPT_CACHE_MIN_TOKENS, PromptCacheIndex, sharedPrefixLength, type CacheEntry, type CacheMatch } from "./prompt-cache.ts";
import { promptCacheIdentity, PromptStateFiles } from "./prompt-state-store.ts";
import type { Sequence } from "./run-context.ts";

/** Share of the RAM folder's free space the cache may fill when `--prompt-cache-ram` asks for more. */
const RAM_FOLDER_SHARE = 0.8;

/** Bytes the disk tier may take (default of `PromptCacheOptions.diskBytes`). */
export const DEFAULT_PROMPT_CACHE_DISK_BYTES = 8 * 1024 ** 3;

export interface PromptCacheOptions {
  /** Bytes of the RAM tier (0: none). */
  readonly ramBytes: number;
  /** The RAM tier's files (see prompt-state-store.ts); required when `ramBytes` > 0. */
  readonly ram?: PromptStateFiles;
  /** The disk tier's files (default: no disk tier). */
  readonly disk?: PromptStateFiles;
  /** Bytes of the disk tier (default DEFAULT_PROMPT_CACHE_DISK_BYTES). */
  readonly diskBytes?: number;
  /** Shortest prefix worth a save or a restore (default 64). */
  readonly minTokens?: number;
  readonly logger?: Logger;
}

/** Counters since the engine loaded, for `stats()` and `/metrics` (engines/types.ts). */
export type PromptCacheCounters = PromptCacheStats;

type Tier = { readonly index: PromptCacheIndex<string>; readonly files: PromptStateFiles };

export class PromptCache {
  readonly #ram: Tier | undefined;
  readonly #disk: Tier | undefined;
  readonly #minTokens: number;
  readonly #logger: Logger | undefined;
  /** Copies to the disk tier under way (awaited by `close`). */
  readonly #copies = new Set<Promise<void>>();
  /** The `prompt_cache_key` of the request each slot last served: its state is saved under it. */
  readonly #slotKeys = new WeakMap<Sequence, string | undefined>();
  #counts = { hits: 0, misses: 0, saves: 0, savedTokens: 0, savedBytes: 0, restoredTokens: 0, evictions: 0, saveMs: 0, restoreMs: 0 };

  constructor(options: PromptCacheOptions) {
    this.#minTokens = options.minTokens ?? DEFAULT_PROMPT_CACHE_MIN_TOKENS;
    const tier = (files: PromptStateFiles | undefined, budgetBytes: number): Tier | undefined =>
      files === undefined || budgetBytes <= 0 ? undefined : { index: new PromptCacheIndex({ budgetBytes, minTokens: this.#minTokens }), files };
    this.#ram = tier(options.ram, options.ramBytes);
    this.#disk = tier(options.disk, options.diskBytes ?? DEFAULT_PROMPT_CACHE_DISK_BYTES);
    this.#logger = options.logger;
  }

  /** Lists the disk tier's states from earlier runs (oldest first, so the budget keeps the newest). */
  async loadDisk(): Promise<void> {
    const disk = this.#disk;
    if (disk === undefined) return;
    for (const entry of await disk.files.list()) this.#add(disk, entry);
  }

  /**
   * Wraps a slot score (the prefix a slot shares with `prompt`): when a saved state beats every
   * slot by `minTokens`, slots that cannot compete score 0, so the one free the longest is taken
   * and overwritten rather than one whose cache another conversation may still want.
   */
  placement(prompt: readonly Token[], key: string | undefined, score: (sequence: Sequence) => number): (sequence: Sequence) => number {
    const best = this.#best(prompt, key)?.match.shared ?? 0;
    if (best < this.#minTokens) return score;
    return (sequence) => {
      const shared = score(sequence);
      return shared + this.#minTokens > best ? shared : 0;
    };
  }

  /**
   * Readies a slot just lent for `prompt`: saves what it holds if the prompt would discard enough
   * of it, then restores the saved state sharing the longest prefix with the prompt if it beats the
   * slot's own cache by `minTokens` (`restore: false`: save only). Never throws: a failure leaves
   * the slot to evaluate the prompt itself.
   */
  async prepare(sequence: Sequence, prompt: readonly Token[], options: { readonly key: string | undefined; readonly restore: boolean }): Promise<void> {
    if (sequence.needsCheckpoints) return; // recurrent/SWA state: not reusable by prefix
    try {
      const own = sequence.compareContextTokens(prompt as Token[]).firstDifferentIndex;
      const held = sequence.contextTokens;
      const save = held.length - own >= this.#minTokens;
      const heldKey = this.#slotKeys.get(sequence);
      this.#slotKeys.set(sequence, options.key);
      const wanted = prompt.length - 1; // the last prompt token is always evaluated again
      const looked = options.restore && wanted - own >= this.#minTokens;
      const found = looked ? this.#best(prompt, options.key) : undefined;
      const useful = found !== undefined && Math.min(found.match.shared, wanted) - own >= this.#minTokens;
      if (looked && !useful) this.#counts.misses++;
      if (!useful) {
        if (save) await this.#save(sequence, held, heldKey);
        return;
      }
      // The state to restore is marked used first, and its file kept, so the save cannot evict it.
      found.tier.index.touch(found.match.entry);
      await found.tier.files.use(found.match.entry.location, async () => {
        if (save) await this.#save(sequence, held, heldKey);
        if (await this.#restore(sequence, found.tier, found.match)) {
          this.#counts.hits++;
          this.#counts.restoredTokens += Math.min(found.match.shared, wanted);
        } else this.#counts.misses++;
      });
    } catch (error) {
      this.#logger?.warn({ err: error }, "prompt cache: preparing a slot failed; the prompt is evaluated instead");
    }
  }

  stats(): PromptCacheCounters {
    return {
      entries: this.#ram?.index.size ?? 0,
      bytes: this.#ram?.index.bytes ?? 0,
      diskEntries: this.#disk?.index.size ?? 0,
      diskBytes: this.#disk?.index.bytes ?? 0,
      ...this.#counts,
    };
  }

  /** Waits for copies to disk, then removes the RAM tier's files (the disk tier stays). */
  async close(): Promise<void> {
    while (this.#copies.size > 0) await Promise.allSettled([...this.#copies]);
    if (this.#ram !== undefined) {
      this.#ram.index.clear();
      await this.#ram.files.removeFolder();
    }
  }

  /** The best match over both tiers (RAM first among equals). */
  #best(prompt: readonly Token[], key: string | undefined): { tier: Tier; match: CacheMatch<string> } | undefined {
    let found: { tier: Tier; match: CacheMatch<string> } | undefined;
    for (const tier of [this.#ram, this.#disk]) {
      const match = tier?.index.best(prompt, key);
      if (tier !== undefined && match !== undefined && (found === undefined || match.shared > found.match.shared)) found = { tier, match };
    }
    return found;
  }

  /** Saves the slot's state into the RAM tier (and the disk tier: a copy made in the background), unless already held. */
  async #save(sequence: Sequence, tokens: readonly Token[], key: string | undefined): Promise<void> {
    const ram = this.#ram;
    const disk = this.#disk;
    const toRam = ram !== undefined && !ram.index.covers(tokens);
    const toDisk = disk !== undefined && !disk.index.covers(tokens);
    if (!toRam && !toDisk) return;
    // Into RAM when there is a RAM tier; straight to disk (awaited: the slot is about to change) otherwise.
    const first = toRam ? ram : (disk as Tier);
    const location = first.files.newPath();
    const started = performance.now();
    const { fileSize } = await sequence.saveStateToFile(location).catch(async (error: unknown) => {
      await first.files.delete(location); // a partial file (e.g. the folder's file system is full)
      throw error;
    });
    const ms = performance.now() - started;
    this.#counts.saves++;
    this.#counts.savedTokens += tokens.length;
    this.#counts.savedBytes += fileSize;
    this.#counts.saveMs += ms;
    this.#logger?.debug({ tokens: tokens.length, bytes: fileSize, ms: Math.round(ms * 10) / 10 }, "prompt cache: slot state saved");
    const entry: CacheEntry<string> = { tokens: [...tokens], bytes: fileSize, key, location };
    if (first === disk) {
      await disk.files.writeSidecar(entry);
      this.#add(disk, entry);
      return;
    }
    this.#add(first, entry);
    if (toDisk && disk !== undefined) {
      const copy = first.files
        .use(location, async () => this.#add(disk, await disk.files.adopt(entry)))
        .catch((error: unknown) => this.#logger?.warn({ err: error }, "prompt cache: copying a state to the disk folder failed"));
      this.#copies.add(copy);
      void copy.finally(() => this.#copies.delete(copy));
    }
  }

  /** Adds an entry to a tier, deleting the files of what it pushed out (or its own, if it does not fit). */
  #add(tier: Tier, entry: CacheEntry<string>): void {
    const { added, removed } = tier.index.add(entry);
    if (!added) void tier.files.delete(entry.location);
    for (const old of removed) {
      if (sharedPrefixLength(old.tokens, entry.tokens) < old.tokens.length) this.#counts.evictions++;
      void tier.files.delete(old.location);
    }
  }

  /** Loads a saved state into the slot; false (and the entry dropped) if it fails or does not hold what it should. */
  async #restore(sequence: Sequence, tier: Tier, { entry }: CacheMatch<string>): Promise<boolean> {
    const started = performance.now();
    try {
      await tier.files.use(entry.location, (path) => sequence.loadStateFromFile(path, { acceptRisk: true }));
      const restored = sequence.contextTokens;
      if (restored.length !== entry.tokens.length || sharedPrefixLength(restored, entry.tokens) !== restored.length) throw new Error("the restored state holds other tokens than its entry");
      tier.index.touch(entry);
      const ms = performance.now() - started;
      this.#counts.restoreMs += ms;
      this.#logger?.debug({ tokens: entry.tokens.length, bytes: entry.bytes, ms: Math.round(ms * 10) / 10 }, "prompt cache: state restored into a slot");
      return true;
    } catch (error) {
      this.#logger?.warn({ err: error, path: entry.location }, "prompt cache: restoring a state failed; it is dropped and the prompt evaluated");
      tier.index.remove(entry);
      void tier.files.delete(entry.location);
      await sequence.clearHistory().catch(() => undefined);
      return false;
    }
  }
}

/**
 * The engine's prompt cache for a loaded model, from its `promptCache` settings; undefined when
 * both tiers are off. A disk folder that cannot be used is logged and left out.
 */
export async function openPromptCache(host: ModelHost, load: LocalModelLoad | undefined, logger: Logger): Promise<PromptCache | undefined> {
  const settings = load?.promptCache;
  if (settings === undefined || (settings.ramBytes <= 0 && settings.dir === undefined)) return undefined;
  let ram: PromptStateFiles | undefined;
  try {
    ram = settings.ramBytes > 0 ? await PromptStateFiles.ram() : undefined;
  } catch (error) {
    logger.warn({ err: error }, "prompt cache: no folder for RAM states could be made; the RAM tier is off");
  }
  let disk: PromptStateFiles | undefined;
  if (settings.dir !== undefined) {
    try {
      // The context's shape: a state saved under other settings is never offered to this one.
      // The settings asked for, and what they resolved to here (flash attention and the KV type shape the state).
      const { flashAttention, kvCacheType, device } = host.placement;
      const identity = await promptCacheIdentity(host.modelPath, { contextSize: host.contextSize, placement: load?.placement ?? {}, resolved: { flashAttention, kvCacheType, device } });
      disk = await PromptStateFiles.disk(settings.dir, identity);
    } catch (error) {
      logger.warn({ err: error, dir: settings.dir }, "prompt cache: the disk folder cannot be used; states are kept in RAM only");
    }
  }
  let ramBytes = settings.ramBytes;
  const free = ram === undefined ? undefined : await ram.freeBytes();
  if (free !== undefined && ramBytes > free * RAM_FOLDER_SHARE) {
    // A container's /dev/shm is often small (Docker's default: 64 MB): stay within it.
    ramBytes = Math.floor(free * RAM_FOLDER_SHARE);
    logger.warn(
      { folder: ram?.folder, freeBytes: free, promptCacheRam: settings.ramBytes, usedBytes: ramBytes },
      "prompt cache: the RAM folder has less room than --prompt-cache-ram; the cache is limited to it (in a container, raise its /dev/shm size, e.g. docker run --shm-size)",
    );
  }
  const cache = new PromptCache({ ramBytes, ...(ram === undefined ? {} : { ram }), ...(disk === undefined ? {} : { disk }), logger });
  await cache.loadDisk().catch((error: unknown) => logger.warn({ err: error, dir: settings.dir }, "prompt cache: the disk folder could not be listed"));
  return cache;
}
