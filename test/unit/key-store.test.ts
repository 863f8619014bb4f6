import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { parseApiKeyFlag } from "../../src/config/api-key-flag.ts";
import { loadConfig } from "../../src/config/config.ts";
import { bearerToken } from "../../src/http/auth/bearer.ts";
import { KeyStore, SingleKey } from "../../src/http/auth/key-store.ts";
import { Limiter } from "../../src/http/auth/limiter.ts";
import { ParleyError } from "../../src/domain/errors.ts";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

test("--api-key formats: [user=]<secret> and [user=]sha256:<hex>", () => {
  assert.deepEqual(parseApiKeyFlag("alice=sk-1", 0), { user: "alice", key: "sk-1" });
  assert.deepEqual(parseApiKeyFlag("sk-1", 2), { user: "key3", key: "sk-1" });
  assert.deepEqual(parseApiKeyFlag(`bob=sha256:${sha("x").toUpperCase()}`, 0), { user: "bob", sha256: sha("x") });
  assert.deepEqual(parseApiKeyFlag(`sha256:${sha("x")}`, 0), { user: "key1", sha256: sha("x") });
  // base64 padding stays part of the secret; an explicit user takes the first "=" only
  assert.deepEqual(parseApiKeyFlag("abc==", 0), { user: "key1", key: "abc==" });
  assert.deepEqual(parseApiKeyFlag("u=a=b", 0), { user: "u", key: "a=b" });
  assert.throws(() => parseApiKeyFlag("u=sha256:12", 0), /64 hex/);
  assert.throws(() => parseApiKeyFlag("has space", 0), /printable/);
});

test("keys come from repeated --api-key or comma-separated PARLEY_API_KEYS; errors never echo the key", () => {
  assert.deepEqual(
    loadConfig(["--api-key", "a=1", "--api-key", "b=2"], {}).apiKey.map((k) => k.user),
    ["a", "b"],
  );
  assert.deepEqual(
    loadConfig([], { PARLEY_API_KEYS: "a=1,b=2" }).apiKey.map((k) => k.user),
    ["a", "b"],
  );
  assert.deepEqual(loadConfig([], {}).apiKey, []);
  assert.deepEqual(loadConfig([], { PARLEY_ADMIN_KEY: "adm" }).adminKey, { key: "adm" });
  assert.throws(
    () => loadConfig(["--api-key", "u=secret\u0001value"], {}),
    (e: Error) => !e.message.includes("secret") && /--api-key/.test(e.message),
  );
});

test("KeyStore: plain and sha256 keys, unknown tokens, duplicates", () => {
  const store = new KeyStore([
    { user: "alice", key: "sk-alice" },
    { user: "bob", sha256: sha("sk-bob"), models: ["m1"], limits: { maxConcurrent: 1 } },
  ]);
  assert.equal(store.enabled, true);
  assert.equal(store.authenticate("sk-alice")?.user, "alice");
  assert.equal(store.authenticate("sk-bob")?.user, "bob");
  assert.deepEqual([...(store.authenticate("sk-bob")?.models ?? [])], ["m1"]);
  assert.equal(store.authenticate("sk-alic"), undefined);
  assert.equal(store.authenticate(""), undefined);
  assert.equal(store.authenticate(sha("sk-bob")), undefined, "the hash itself is not a key");
  assert.equal(new KeyStore([]).enabled, false);
  assert.throws(
    () =>
      new KeyStore([
        { user: "a", key: "k" },
        { user: "b", sha256: sha("k") },
      ]),
    (e: Error) => /twice/.test(e.message) && !e.message.includes('"k"'),
  );
  assert.throws(() => new KeyStore([{ user: "a" }]), /exactly one/);
  assert.throws(() => new KeyStore([{ user: "a", key: "k", sha256: sha("k") }]), /exactly one/);
  assert.equal(new SingleKey({ sha256: sha("adm") }).matches("adm"), true);
  assert.equal(new SingleKey({ key: "adm" }).matches("adm2"), false);
});

test("bearerToken: case-insensitive scheme, no whitespace or control characters", () => {
  assert.equal(bearerToken("Bearer abc"), "abc");
  assert.equal(bearerToken("bearer abc"), "abc");
  assert.equal(bearerToken("BEARER  abc"), "abc");
  for (const bad of [undefined, "", "Bearer", "Bearer ", "Basic abc", "Bearer a b", "Bearer a\tb", "Bearer\tabc", "Bearer abc ", " Bearer abc", "Bearer a\u0000", "Bearer é"]) {
    assert.equal(bearerToken(bad), undefined, JSON.stringify(bad));
  }
  assert.equal(bearerToken(["Bearer a", "Bearer b"]), undefined);
  assert.equal(bearerToken(`Bearer ${"a".repeat(5000)}`), undefined);
});

test("Limiter: requests/min, max concurrent and tokens/min, each with Retry-After", () => {
  let now = 1_000_000;
  const limiter = new Limiter({ now: () => now });
  const retryAfter = (f: () => unknown) => {
    try {
      f();
    } catch (error) {
      assert.ok(error instanceof ParleyError && error.kind === "server_busy");
      return error.retryAfter;
    }
    assert.fail("not limited");
  };
  const rpm = { user: "u", models: undefined, index: 0, limits: { requestsPerMinute: 2 } };
  limiter.admit(rpm).release();
  now += 10_000;
  limiter.admit(rpm).release();
  assert.equal(
    retryAfter(() => limiter.admit(rpm)),
    50,
  );
  now += 50_000;
  limiter.admit(rpm).release(); // the first left the window

  const conc = { user: "u", models: undefined, index: 1, limits: { maxConcurrent: 1 } };
  const held = limiter.admit(conc);
  assert.equal(
    retryAfter(() => limiter.admit(conc)),
    1,
  );
  held.release();
  held.release(); // idempotent
  limiter.admit(conc);

  const tpm = { user: "u", models: undefined, index: 2, limits: { tokensPerMinute: 100 } };
  const a = limiter.admit(tpm);
  a.charge(60);
  a.release();
  now += 20_000;
  const b = limiter.admit(tpm); // 60 < 100: admitted, then overshoots
  b.charge(60);
  b.release();
  assert.equal(
    retryAfter(() => limiter.admit(tpm)),
    40,
  ); // 120 until the first charge leaves
  now += 40_000;
  limiter.admit(tpm);
});
