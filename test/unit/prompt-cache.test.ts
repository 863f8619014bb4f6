import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PromptCacheIndex, sharedPrefixLength, type CacheEntry } from "../../src/engines/llama/prompt-cache.ts";

/** Tokens 0..n-1 after a distinct head `head`. */
const tokens = (head: number, n: number) => [head, ...Array.from({ length: n - 1 }, (_, i) => 1000 + i)];
const entry = (name: string, t: readonly number[], bytes: number, key?: string): CacheEntry<string> => ({ tokens: t, bytes, key, location: name });
const names = (index: PromptCacheIndex<string>) => index.entries().map((e) => e.location);

describe("PromptCacheIndex", () => {
  it("finds the entry sharing the longest prefix, at least minTokens long", () => {
    const index = new PromptCacheIndex<string>({ budgetBytes: 1000, minTokens: 4 });
    const base = [1, 2, 3, 4, 5, 6, 7, 8];
    index.add(entry("short", [...base.slice(0, 5), 90, 91], 10));
    index.add(entry("long", [...base.slice(0, 7), 80], 10));
    assert.deepEqual(index.best(base), { entry: index.entries()[1], shared: 7 });
    assert.equal(index.best([1, 2, 3, 9])?.entry, undefined, "3 shared tokens are under minTokens");
    assert.equal(index.best([7, 7, 7, 7, 7]), undefined);
  });

  it("prefers the request's key among equal matches, then the most recently used", () => {
    const index = new PromptCacheIndex<string>({ budgetBytes: 1000, minTokens: 2 });
    const a = entry("a", [1, 2, 3, 10], 10, "k");
    const b = entry("b", [1, 2, 3, 20], 10);
    index.add(a);
    index.add(b);
    assert.equal(index.best([1, 2, 3, 4])?.entry, b, "most recent");
    assert.equal(index.best([1, 2, 3, 4], "k")?.entry, a, "the key's");
    index.touch(a);
    assert.equal(index.best([1, 2, 3, 4])?.entry, a);
  });

  it("accounts bytes and evicts the least recently used entries to make room", () => {
    const index = new PromptCacheIndex<string>({ budgetBytes: 100, minTokens: 1 });
    index.add(entry("a", tokens(1, 5), 40));
    index.add(entry("b", tokens(2, 5), 40));
    assert.equal(index.bytes, 80);
    index.touch(index.entries()[0] as CacheEntry<string>); // a is now the most recent
    const { added, removed } = index.add(entry("c", tokens(3, 5), 40));
    assert.ok(added);
    assert.deepEqual(
      removed.map((e) => e.location),
      ["b"],
    );
    assert.deepEqual(names(index), ["a", "c"]);
    assert.equal(index.bytes, 80);
    assert.ok(index.remove(index.entries()[0] as CacheEntry<string>));
    assert.equal(index.bytes, 40);
    assert.equal(index.clear().length, 1);
    assert.equal(index.bytes, 0);
    assert.equal(index.size, 0);
  });

  it("evicts keyed entries only once no unkeyed one is left", () => {
    const index = new PromptCacheIndex<string>({ budgetBytes: 100, minTokens: 1 });
    index.add(entry("keyed", tokens(1, 5), 40, "conversation"));
    index.add(entry("x1", tokens(2, 5), 40));
    index.add(entry("x2", tokens(3, 5), 40));
    assert.deepEqual(names(index), ["keyed", "x2"]);
    index.add(entry("x3", tokens(4, 5), 90));
    assert.deepEqual(names(index), ["x3"], "with nothing else left, the keyed entry goes too");
  });

  it("never adds an entry larger than the budget", () => {
    const index = new PromptCacheIndex<string>({ budgetBytes: 100 });
    index.add(entry("a", tokens(1, 5), 40));
    const result = index.add(entry("huge", tokens(2, 5), 101));
    assert.deepEqual(result, { added: false, removed: [] });
    assert.deepEqual(names(index), ["a"]);
  });

  it("replaces entries the new one extends, and knows what it covers", () => {
    const index = new PromptCacheIndex<string>({ budgetBytes: 1000, minTokens: 1 });
    index.add(entry("turn1", [1, 2, 3], 30));
    index.add(entry("other", [1, 9, 9], 30));
    const { removed } = index.add(entry("turn2", [1, 2, 3, 4, 5], 50));
    assert.deepEqual(
      removed.map((e) => e.location),
      ["turn1"],
    );
    assert.deepEqual(names(index), ["other", "turn2"]);
    assert.equal(index.bytes, 80);
    assert.ok(index.covers([1, 2, 3]));
    assert.ok(index.covers([1, 2, 3, 4, 5]));
    assert.ok(!index.covers([1, 2, 3, 4, 5, 6]));
    assert.ok(!index.covers([1, 2, 4]));
  });

  it("sharedPrefixLength", () => {
    assert.equal(sharedPrefixLength([], [1]), 0);
    assert.equal(sharedPrefixLength([1, 2, 3], [1, 2]), 2);
    assert.equal(sharedPrefixLength([1, 2, 3], [1, 5, 3]), 1);
  });
});
