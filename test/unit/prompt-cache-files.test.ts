import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promptCacheIdentity, PromptStateFiles } from "../../src/engines/llama/prompt-state-store.ts";

describe("PromptStateFiles", () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "parley-prompt-files-"));
  });
  after(() => rm(root, { recursive: true, force: true }));

  it("keeps a file being read until the read ends, then deletes it", async () => {
    const files = await PromptStateFiles.ram(root);
    const path = files.newPath();
    await writeFile(path, "state");
    let release: () => void = () => undefined;
    const reading = files.use(path, () => new Promise<void>((resolve) => (release = resolve)));
    await files.delete(path);
    assert.ok(existsSync(path), "still being read");
    release();
    await reading;
    assert.ok(!existsSync(path));
    await files.removeFolder();
    assert.ok(!existsSync(files.folder));
  });

  it("removes RAM folders of processes that are gone, not its own", async () => {
    const dead = join(root, "parley-prompt-cache-999999999-abcd");
    const mine = join(root, `parley-prompt-cache-${process.pid}-beef`);
    await mkdir(dead);
    await mkdir(mine);
    const files = await PromptStateFiles.ram(root);
    assert.ok(!existsSync(dead));
    assert.ok(existsSync(mine));
    await files.removeFolder();
  });

  it("lists the disk tier's states from their sidecars, oldest first, and drops unreadable ones", async () => {
    const files = await PromptStateFiles.disk(root, "identity-a");
    const first = files.newPath();
    await writeFile(first, "1234");
    await files.writeSidecar({ tokens: [1, 2, 3], bytes: 4, key: "k", location: first });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = files.newPath();
    await writeFile(second, "123456");
    await files.writeSidecar({ tokens: [4, 5], bytes: 6, key: undefined, location: second });
    const orphan = files.newPath();
    await writeFile(orphan, "no sidecar");
    const wrongSize = files.newPath();
    await writeFile(wrongSize, "12");
    await files.writeSidecar({ tokens: [7], bytes: 99, key: undefined, location: wrongSize });

    const listed = await files.list();
    assert.deepEqual(
      listed.map((e) => [e.location, e.tokens, e.bytes, e.key]),
      [
        [first, [1, 2, 3], 4, "k"],
        [second, [4, 5], 6, undefined],
      ],
    );
    const left = await readdir(files.folder);
    assert.equal(left.filter((name) => name.endsWith(".state")).length, 2, "the orphan and the mismatched file are removed");
  });

  it("copies a state in with its sidecar (adopt)", async () => {
    const ram = await PromptStateFiles.ram(root);
    const disk = await PromptStateFiles.disk(root, "identity-b");
    const location = ram.newPath();
    await writeFile(location, "abc");
    const copied = await disk.adopt({ tokens: [9, 8], bytes: 3, key: undefined, location });
    assert.notEqual(copied.location, location);
    assert.deepEqual(
      (await disk.list()).map((e) => e.tokens),
      [[9, 8]],
    );
    await ram.removeFolder();
  });
});

describe("promptCacheIdentity", () => {
  it("differs with the file's content and the context settings, not with its path", async () => {
    const dir = await mkdtemp(join(tmpdir(), "parley-identity-"));
    try {
      await writeFile(join(dir, "a.gguf"), "GGUF model one");
      await writeFile(join(dir, "b.gguf"), "GGUF model one");
      await writeFile(join(dir, "c.gguf"), "GGUF model two");
      const id = (name: string, settings: Record<string, unknown> = { contextSize: 512 }) => promptCacheIdentity(join(dir, name), settings);
      assert.equal(await id("a.gguf"), await id("b.gguf"));
      assert.notEqual(await id("a.gguf"), await id("c.gguf"));
      assert.notEqual(await id("a.gguf"), await id("a.gguf", { contextSize: 1024 }));
      assert.notEqual(await id("a.gguf"), await id("a.gguf", { contextSize: 512, placement: { kvCacheType: "q8_0" } }));
      const placed = (kvCacheType: string) => id("a.gguf", { contextSize: 512, placement: { kvCacheType, flashAttention: "auto" } });
      assert.notEqual(await placed("f16"), await placed("q8_0"));
      assert.equal(await placed("f16"), await id("a.gguf", { placement: { flashAttention: "auto", kvCacheType: "f16" }, contextSize: 512 }), "key order does not matter");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
