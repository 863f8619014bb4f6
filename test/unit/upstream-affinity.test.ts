/**
 * The replica chooser's prefix affinity (`affinity.ts`, through `ReplicaSet.pick`): same cache key
 * or a long shared prefix → the replica that served it, bounded load (c × average), the ring for
 * new prefixes, least outstanding for requests with no key.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ChatMessage } from "../../src/domain/chat.ts";
import { affinityKey, PrefixAffinity, promptText } from "../../src/engines/upstream/affinity.ts";
import { ReplicaSet } from "../../src/engines/upstream/replicas.ts";

const IDS = ["http://a/v1", "http://b/v1", "http://c/v1"];
const long = (seed: string, chars = 3000) =>
  Array.from({ length: Math.ceil(chars / seed.length) }, () => seed)
    .join("")
    .slice(0, chars);
const chat = (...contents: string[]): ChatMessage[] => contents.map((content, i) => ({ role: i % 2 === 0 ? "user" : "assistant", content }));
const keyOf = (messages: ChatMessage[], cacheKey?: string) => affinityKey(promptText({ messages, tools: undefined }), cacheKey);

describe("prefix affinity", () => {
  it("a request sharing a long prefix with a recent one goes where that one went, even against the load order", () => {
    const affinity = new PrefixAffinity(IDS);
    const system = long("You are a careful assistant for the shipping desk. ");
    const first = keyOf([
      { role: "system", content: system },
      { role: "user", content: "Where is order 1?" },
    ]);
    affinity.record(first, 2);
    const second = keyOf([
      { role: "system", content: system },
      { role: "user", content: "Where is order 2?" },
    ]);
    // Replica 2 is busier than the others, but within its bound: affinity wins.
    assert.deepEqual(affinity.choose(second, [0, 0, 1]), { index: 2, reason: "recent" });
  });

  it("the next turn of a conversation extends its last turn's prefix", () => {
    const affinity = new PrefixAffinity(IDS);
    const turn1 = chat(long("Tell me about the harbour and its boats. ", 1200));
    affinity.record(keyOf(turn1), 1);
    const turn2 = chat(turn1[0]?.content ?? "", "The harbour has forty boats.", "Which is the oldest?");
    assert.deepEqual(affinity.choose(keyOf(turn2), [0, 0, 0]), { index: 1, reason: "recent" });
  });

  it("the same prompt_cache_key goes to the same replica; a different one need not", () => {
    const affinity = new PrefixAffinity(IDS);
    const key = keyOf(chat("short"), "user-42");
    const placed = affinity.choose(key, [0, 0, 0]);
    assert.equal(placed?.reason, "ring");
    affinity.record(key, placed?.index ?? -1);
    for (let i = 0; i < 5; i++) assert.deepEqual(affinity.choose(keyOf(chat(`other text ${i}`), "user-42"), [0, 0, 0]), { index: placed?.index, reason: "recent" });
  });

  it("a short prompt without a cache key has nothing to place by: least outstanding decides", () => {
    const affinity = new PrefixAffinity(IDS);
    assert.equal(affinity.choose(keyOf(chat("Hi")), [0, 0, 0]), undefined);
  });

  it("an overloaded or unavailable replica is passed over; every choice is within max(⌈c × (total + 1) / n⌉, 2)", () => {
    const affinity = new PrefixAffinity(IDS, { loadFactor: 1.25 });
    const key = keyOf(chat(long("A long shared prefix about copper wire. ")));
    affinity.record(key, 0);
    // Loads 4, 0, 0: the bound for one more is ⌈1.25 × 5 / 3⌉ = 3, so replica 0 is over it.
    const moved = affinity.choose(key, [4, 0, 0]);
    assert.notEqual(moved?.index, 0);
    assert.equal(moved?.reason, "ring");
    assert.notEqual(affinity.choose(key, [undefined, 0, 0])?.index, 0, "ejected or already tried");
    assert.equal(affinity.choose(key, [undefined, undefined, undefined]), undefined);
    // The bound holds whatever the loads, and a replica always fits.
    let state = 7;
    const rand = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let trial = 0; trial < 500; trial++) {
      const loads = IDS.map(() => (rand() < 0.2 ? undefined : Math.floor(rand() * 10)));
      const candidates = loads.filter((l): l is number => l !== undefined);
      const k = keyOf(chat(long(`prefix ${trial} `)), trial % 3 === 0 ? `key-${trial}` : undefined);
      if (trial % 2 === 0) affinity.record(k, trial % 3);
      const chosen = affinity.choose(k, loads);
      if (candidates.length === 0) {
        assert.equal(chosen, undefined);
        continue;
      }
      assert.ok(chosen !== undefined, "one replica always fits the bound");
      const bound = Math.max(2, Math.ceil((1.25 * (candidates.reduce((a, b) => a + b, 0) + 1)) / candidates.length));
      assert.ok((loads[chosen.index] ?? Infinity) + 1 <= bound, `trial ${trial}: load ${loads[chosen.index]} + 1 > ${bound}`);
    }
  });

  it("new prefixes spread over the ring", () => {
    const affinity = new PrefixAffinity(IDS);
    const counts = [0, 0, 0];
    for (let i = 0; i < 900; i++) {
      const chosen = affinity.choose(keyOf(chat(long(`Document number ${i}: `))), [0, 0, 0]);
      const index = chosen?.index ?? 0;
      counts[index] = (counts[index] ?? 0) + 1;
    }
    for (const c of counts) assert.ok(c > 180 && c < 420, `uneven spread: ${counts.join(", ")}`);
  });

  it("remembers at most maxEntries blocks, the least recently used forgotten first", () => {
    const affinity = new PrefixAffinity(IDS, { maxEntries: 20 });
    const old = keyOf(chat(long("first prompt ")));
    affinity.record(old, 1);
    for (let i = 0; i < 10; i++) affinity.record(keyOf(chat(long(`newer prompt ${i} `))), 2);
    assert.equal(affinity.size, 20);
    assert.notEqual(affinity.choose(old, [0, 0, 0])?.reason, "recent");
  });

  it("ReplicaSet.pick: affinity first, recorded at dispatch, least outstanding without a key, off when disabled", () => {
    const set = new ReplicaSet({ baseUrls: IDS, healthIntervalMs: 0, check: async () => true });
    const key = keyOf(chat(long("A support manual, chapter one. ")));
    const first = set.pick(new Set(), key);
    assert.ok(first !== undefined);
    first.outstanding++;
    // A concurrent request with the same prefix follows the first (recorded when it was picked).
    assert.equal(set.pick(new Set(), key), first);
    // Excluded (already tried): another replica.
    assert.notEqual(set.pick(new Set([first]), key), first);
    // No key: least outstanding (the first listed among the idle ones).
    assert.equal(
      set.pick(new Set()),
      set.replicas.find((r) => r !== first),
    );
    const off = new ReplicaSet({ baseUrls: IDS, healthIntervalMs: 0, affinity: false, check: async () => true });
    const busy = off.replicas[0];
    assert.ok(busy !== undefined);
    busy.outstanding = 1;
    assert.notEqual(off.pick(new Set(), key), busy);
    set.close();
    off.close();
  });
});
