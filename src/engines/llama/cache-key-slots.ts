/**
 * OpenAI's `prompt_cache_key` as a placement hint: which slot last served each key, so that the
 * key's next request prefers it among slots whose cache holds as much of its prompt (the measured
 * shared prefix decides first; the key breaks ties, e.g. between slots that hold none of it yet).
 * At most `maxKeys` keys are remembered; the least recently used is forgotten first.
 */
export class CacheKeySlots<T> {
  readonly #slots = new Map<string, T>();
  readonly #maxKeys: number;

  /** @param maxKeys keys remembered (default 4096). */
  constructor(maxKeys = 4096) {
    this.#maxKeys = maxKeys;
  }

  /** `score` (the shared prefix, in tokens) plus half a token for the slot that last served `key`. */
  prefer(key: string | undefined, score: (item: T) => number): (item: T) => number {
    const slot = key === undefined ? undefined : this.#slots.get(key);
    return slot === undefined ? score : (item) => score(item) + (item === slot ? 0.5 : 0);
  }

  /** `item` served a request with `key`. */
  served(key: string | undefined, item: T): void {
    if (key === undefined) return;
    this.#slots.delete(key);
    this.#slots.set(key, item);
    if (this.#slots.size > this.#maxKeys) this.#slots.delete(this.#slots.keys().next().value as string);
  }
}
