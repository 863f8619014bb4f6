import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CacheKeySlots } from "../../src/engines/llama/cache-key-slots.ts";

describe("CacheKeySlots (prompt_cache_key placement)", () => {
  const prefix = new Map([
    ["a", 10],
    ["b", 10],
    ["c", 12],
  ]);
  const score = (slot: string) => prefix.get(slot) ?? 0;

  it("breaks ties toward the slot that last served the key; a longer cached prefix still wins", () => {
    const slots = new CacheKeySlots<string>();
    slots.served("user-1", "b");
    const prefer = slots.prefer("user-1", score);
    assert.ok(prefer("b") > prefer("a"));
    assert.ok(prefer("c") > prefer("b"));
    assert.equal(slots.prefer(undefined, score), score);
    assert.equal(slots.prefer("unknown", score), score);
  });

  it("remembers the latest slot per key and forgets the least recently used key", () => {
    const slots = new CacheKeySlots<string>(2);
    slots.served("k1", "a");
    slots.served("k2", "b");
    slots.served("k1", "c");
    slots.served("k3", "a"); // k2 is the least recently used
    assert.equal(slots.prefer("k2", score), score);
    assert.ok(slots.prefer("k1", score)("c") > score("c"));
  });
});
