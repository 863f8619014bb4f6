/**
 * Prefix affinity for an upstream's replicas: a request whose prompt shares a long prefix with a
 * recent request (or carries the same `prompt_cache_key`) goes to the replica that served that
 * one, so the replica's prefix cache is reused, as long as that replica takes traffic and is not
 * overloaded; otherwise to its place on a consistent-hash ring, walking on past replicas that are
 * over their bound (consistent hashing with bounded loads, Mirrokni, Thorup and Zadimoghaddam
 * 2018). A replica is over its bound when one more request would give it more than
 * max(⌈c × (requests in flight + 1) / replicas⌉, `minBound`) (c = `loadFactor`, default 1.25;
 * `minBound` default 2, since at very low load — one request here, none there — a cached prefix is
 * worth more than perfect balance), so no busy replica takes more than about c times its share,
 * and one always fits.
 *
 * Prefixes are compared without tokenizing: the request's tools and messages are serialised (each
 * message a self-contained record, so a conversation's next turn extends its last one; a text
 * completion's prompt is taken as it is, marked so it never matches a conversation) and cut into
 * blocks of `blockChars` characters, and each block's hash chains the ones before it (as vLLM
 * hashes KV blocks). A request's recorded blocks map to the replica that got it; a new request
 * follows its longest recorded prefix of at least `minPrefixChars`. The map keeps the
 * `maxEntries` most recently used blocks. Requests with no key (a short prompt and no
 * `prompt_cache_key`) are left to least-outstanding balancing.
 */
import { createHash } from "node:crypto";
import type { ChatRequest } from "../../domain/chat.ts";

export interface AffinityOptions {
  /** c: the most load a replica takes, relative to the average (default 1.25; ≥ 1). */
  readonly loadFactor?: number;
  /** The bound never goes below this many requests in flight (default 2). */
  readonly minBound?: number;
  /** Characters per prefix block (default 256). */
  readonly blockChars?: number;
  /** The shortest shared prefix that counts, in characters (default 512; rounded up to whole blocks). */
  readonly minPrefixChars?: number;
  /** Most characters of a prompt hashed (default 131 072): longer prompts match on their start. */
  readonly maxPrefixChars?: number;
  /** Prefix blocks (and cache keys) remembered, least recently used forgotten first (default 65 536). */
  readonly maxEntries?: number;
  /** Points per replica on the ring (default 64). */
  readonly virtualNodes?: number;
}

/** What placement knows of one request. */
export interface AffinityKey {
  /** `prompt_cache_key`, when the client sent one: it wins over the prefix. */
  readonly cacheKey?: string;
  /** Chained hashes of the prompt's whole blocks, shortest prefix first. */
  readonly blocks: readonly string[];
}

/** Why a replica was chosen (for tests and the bench). */
export type AffinityReason = "recent" | "ring";

const DEFAULTS = { loadFactor: 1.25, minBound: 2, blockChars: 256, minPrefixChars: 512, maxPrefixChars: 131_072, maxEntries: 65_536, virtualNodes: 64 };

/**
 * The text prefixes are compared on: tools, then each message as a self-contained record; a text
 * prompt's own text (token ids: each followed by a comma, so a shared run of ids is a shared prefix).
 */
export function promptText(request: Pick<ChatRequest, "messages" | "tools" | "text">, maxChars: number = DEFAULTS.maxPrefixChars): string {
  const raw = request.text?.prompt;
  if (raw !== undefined)
    return `\u0002${
      typeof raw === "string"
        ? raw
        : raw
            .slice(0, maxChars)
            .map((id) => `${id},`)
            .join("")
    }`.slice(0, maxChars);
  let text = request.tools === undefined ? "" : `${JSON.stringify(request.tools.definitions)}\u0001`;
  for (const m of request.messages) {
    if (text.length >= maxChars) break;
    const calls = m.toolCalls === undefined ? "" : JSON.stringify(m.toolCalls);
    text += `${m.role}\u0000${m.name ?? ""}\u0000${m.reasoning ?? ""}\u0000${m.content}\u0000${calls}\u0000${m.toolCallId ?? ""}\u0001`;
  }
  return text.slice(0, maxChars);
}

/** The key of a prompt text (see `promptText`) and an optional `prompt_cache_key`. */
export function affinityKey(text: string, cacheKey: string | undefined, options: AffinityOptions = {}): AffinityKey {
  const blockChars = options.blockChars ?? DEFAULTS.blockChars;
  const limit = Math.min(text.length, options.maxPrefixChars ?? DEFAULTS.maxPrefixChars);
  const hash = createHash("sha1");
  const blocks: string[] = [];
  for (let end = blockChars; end <= limit; end += blockChars) {
    hash.update(text.slice(end - blockChars, end));
    blocks.push(hash.copy().digest("base64url").slice(0, 16));
  }
  return cacheKey === undefined ? { blocks } : { cacheKey, blocks };
}

export class PrefixAffinity {
  readonly #loadFactor: number;
  readonly #minBound: number;
  readonly #minBlocks: number;
  readonly #maxEntries: number;
  /** Block hash (or `k:` + cache key) → replica index; Map order is recency (oldest first). */
  readonly #recent = new Map<string, number>();
  /** Ring points, sorted, with their replica index. */
  readonly #ring: { readonly point: number; readonly index: number }[] = [];

  /** `replicaIds`: stable names of the replicas (their base URLs), which place them on the ring. */
  constructor(replicaIds: readonly string[], options: AffinityOptions = {}) {
    this.#loadFactor = Math.max(1, options.loadFactor ?? DEFAULTS.loadFactor);
    this.#minBound = Math.max(1, options.minBound ?? DEFAULTS.minBound);
    this.#minBlocks = Math.max(1, Math.ceil((options.minPrefixChars ?? DEFAULTS.minPrefixChars) / (options.blockChars ?? DEFAULTS.blockChars)));
    this.#maxEntries = options.maxEntries ?? DEFAULTS.maxEntries;
    const nodes = options.virtualNodes ?? DEFAULTS.virtualNodes;
    replicaIds.forEach((id, index) => {
      for (let v = 0; v < nodes; v++) this.#ring.push({ point: point(`${id}#${v}`), index });
    });
    this.#ring.sort((a, b) => a.point - b.point || a.index - b.index);
  }

  /** Entries remembered now. */
  get size(): number {
    return this.#recent.size;
  }

  /**
   * The replica for `key`, by index into `loads` (requests in flight per replica; `undefined`
   * marks one that cannot be chosen: ejected, or already tried). Undefined when the key has
   * nothing to place by, or no replica can be chosen: the caller balances by load.
   */
  choose(key: AffinityKey, loads: readonly (number | undefined)[]): { index: number; reason: AffinityReason } | undefined {
    const candidates = loads.flatMap((load, index) => (load === undefined ? [] : [index]));
    if (candidates.length === 0) return undefined;
    const total = candidates.reduce((sum, i) => sum + (loads[i] ?? 0), 0);
    const bound = Math.max(this.#minBound, Math.ceil((this.#loadFactor * (total + 1)) / candidates.length));
    const fits = (i: number) => loads[i] !== undefined && (loads[i] ?? 0) + 1 <= bound;
    const recent = this.#lookup(key);
    if (recent !== undefined && fits(recent)) return { index: recent, reason: "recent" };
    const home = key.cacheKey === undefined ? key.blocks[this.#minBlocks - 1] : `k:${key.cacheKey}`;
    if (home === undefined) return undefined;
    const start = lowerBound(this.#ring, point(home));
    for (let step = 0; step < this.#ring.length; step++) {
      const node = this.#ring[(start + step) % this.#ring.length];
      if (node !== undefined && fits(node.index)) return { index: node.index, reason: "ring" };
    }
    return undefined;
  }

  /** `index` got the request with `key`: its blocks and cache key now lead there. */
  record(key: AffinityKey, index: number): void {
    const keys = key.cacheKey === undefined ? key.blocks : [...key.blocks, `k:${key.cacheKey}`];
    for (const k of keys) {
      this.#recent.delete(k);
      this.#recent.set(k, index);
    }
    for (const oldest of this.#recent.keys()) {
      if (this.#recent.size <= this.#maxEntries) break;
      this.#recent.delete(oldest);
    }
  }

  /** The replica of the cache key, else of the longest recorded prefix of at least the minimum. */
  #lookup(key: AffinityKey): number | undefined {
    if (key.cacheKey !== undefined) return this.#recent.get(`k:${key.cacheKey}`);
    for (let i = key.blocks.length - 1; i >= this.#minBlocks - 1; i--) {
      const block = key.blocks[i];
      const index = block === undefined ? undefined : this.#recent.get(block);
      if (index !== undefined) return index;
    }
    return undefined;
  }
}

/** A string's place on the ring: the first 32 bits of its SHA-1. */
function point(text: string): number {
  return createHash("sha1").update(text).digest().readUInt32BE(0);
}

/** The first ring position at or after `p` (wrapping to 0). */
function lowerBound(ring: readonly { readonly point: number }[], p: number): number {
  let lo = 0;
  let hi = ring.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((ring[mid]?.point ?? 0) < p) lo = mid + 1;
    else hi = mid;
  }
  return lo === ring.length ? 0 : lo;
}
