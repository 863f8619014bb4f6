/**
 * The prompt cache's bookkeeping, free of llama.cpp and files (prompt-state-store.ts keeps the
 * files, prompt-cache-slots.ts moves states between them and the slots): which saved prompt states
 * exist, the tokens each holds, their bytes against a budget, and which one shares the longest
 * prefix with a new prompt.
 *
 * Eviction is least-recently-used by entry, in two rounds: entries saved for a `prompt_cache_key`
 * are evicted only once no entry without a key is left, so a keyed conversation's state outlives
 * anonymous traffic. An entry whose tokens are a prefix of a newer entry's is superseded by it (the
 * newer one restores everything the older one did), so a growing conversation keeps one entry.
 */

/** Shared prompt prefixes shorter than this are not worth a save or a restore (default of `minTokens`). */
export const DEFAULT_PROMPT_CACHE_MIN_TOKENS = 64;

export interface CacheEntry<L> {
  /** The tokens whose evaluation the state holds, in order. */
  readonly tokens: readonly number[];
  /** What the state takes (its file's size). */
  readonly bytes: number;
  /** The `prompt_cache_key` of the request whose slot was saved, if any: pins the entry. */
  readonly key: string | undefined;
  /** Where the state is (a file path). */
  readonly location: L;
}

export interface PromptCacheIndexOptions {
  /** Bytes the entries may take together; an entry larger than this is never added. */
  readonly budgetBytes: number;
  /** Shortest shared prefix `best` reports (default DEFAULT_PROMPT_CACHE_MIN_TOKENS). */
  readonly minTokens?: number;
}

/** What `add` did: whether the entry is in, and the entries it pushed out (their files are the caller's to delete). */
export interface AddResult<L> {
  readonly added: boolean;
  /** Entries evicted for room, and those the new entry supersedes. */
  readonly removed: readonly CacheEntry<L>[];
}

/** The entry that shares the longest prefix with a prompt, and how many tokens it shares. */
export interface CacheMatch<L> {
  readonly entry: CacheEntry<L>;
  readonly shared: number;
}

export class PromptCacheIndex<L> {
  readonly #budget: number;
  readonly #minTokens: number;
  /** Entries, least recently used first (a Map keeps insertion order; a use re-inserts). */
  readonly #entries = new Map<CacheEntry<L>, true>();
  #bytes = 0;

  constructor(options: PromptCacheIndexOptions) {
    this.#budget = options.budgetBytes;
    this.#minTokens = options.minTokens ?? DEFAULT_PROMPT_CACHE_MIN_TOKENS;
  }

  /** Entries held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Bytes the entries take. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Every entry, least recently used first. */
  entries(): CacheEntry<L>[] {
    return [...this.#entries.keys()];
  }

  /** Whether an entry already holds all of `tokens` (they are a prefix of its tokens): saving them again would add nothing. */
  covers(tokens: readonly number[]): boolean {
    for (const entry of this.#entries.keys()) {
      if (entry.tokens.length >= tokens.length && sharedPrefixLength(entry.tokens, tokens) === tokens.length) return true;
    }
    return false;
  }

  /**
   * The entry sharing the longest prefix with `prompt`, at least `minTokens` long; among equals the
   * one saved for `key`, then the most recently used. Does not count as a use (see `touch`).
   */
  best(prompt: readonly number[], key?: string): CacheMatch<L> | undefined {
    let found: CacheMatch<L> | undefined;
    // most recently used first, so that the first of equals is the most recent
    for (const entry of [...this.#entries.keys()].reverse()) {
      const shared = sharedPrefixLength(entry.tokens, prompt);
      if (shared < this.#minTokens) continue;
      const better = found === undefined || shared > found.shared || (shared === found.shared && key !== undefined && entry.key === key && found.entry.key !== key);
      if (better) found = { entry, shared };
    }
    return found;
  }

  /** Marks `entry` as just used (restored). */
  touch(entry: CacheEntry<L>): void {
    if (!this.#entries.delete(entry)) return;
    this.#entries.set(entry, true);
  }

  /**
   * Adds `entry`, evicting least-recently-used entries (unkeyed ones first) until it fits, and
   * dropping the entries it supersedes. An entry larger than the whole budget is not added.
   */
  add(entry: CacheEntry<L>): AddResult<L> {
    if (entry.bytes > this.#budget) return { added: false, removed: [] };
    const removed: CacheEntry<L>[] = [];
    for (const old of [...this.#entries.keys()]) {
      if (old.tokens.length <= entry.tokens.length && sharedPrefixLength(old.tokens, entry.tokens) === old.tokens.length) {
        this.remove(old);
        removed.push(old);
      }
    }
    while (this.#bytes + entry.bytes > this.#budget) {
      const victim = this.#victim();
      if (victim === undefined) break;
      this.remove(victim);
      removed.push(victim);
    }
    this.#entries.set(entry, true);
    this.#bytes += entry.bytes;
    return { added: true, removed };
  }

  /** Forgets `entry` (a failed restore, a file gone); true if it was held. */
  remove(entry: CacheEntry<L>): boolean {
    if (!this.#entries.delete(entry)) return false;
    this.#bytes -= entry.bytes;
    return true;
  }

  /** Forgets every entry, returning them (their files are the caller's to delete). */
  clear(): CacheEntry<L>[] {
    const all = this.entries();
    this.#entries.clear();
    this.#bytes = 0;
    return all;
  }

  /** The least recently used entry without a key, else the least recently used keyed one. */
  #victim(): CacheEntry<L> | undefined {
    let keyed: CacheEntry<L> | undefined;
    for (const entry of this.#entries.keys()) {
      if (entry.key === undefined) return entry;
      keyed ??= entry;
    }
    return keyed;
  }
}

/** How many leading tokens `a` and `b` share. */
export function sharedPrefixLength(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}
