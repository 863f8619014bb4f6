import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, it } from "node:test";
import { ensureTestModel } from "../../src/testing/test-model.ts";
import { MODEL, NO_EOS, parseSse, postChat } from "../support/server.ts";

const BIN = join(import.meta.dirname, "../../bin/parley.js");

function run(args: string[]): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
}

/** Waits for Fastify's "Server listening at <url>" log line. */
async function listeningUrl(child: ChildProcess): Promise<string> {
  assert.ok(child.stdout);
  for await (const line of createInterface({ input: child.stdout })) {
    const match = /Server listening at (http:\/\/[^"\s]+)/.exec(line);
    if (match?.[1] !== undefined) return match[1];
  }
  throw new Error("the server exited before listening");
}

async function waitHealthy(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const res = await fetch(`${url}/health`).catch(() => undefined);
    if (res?.status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("never healthy");
}

describe("the parley command", () => {
  it("make-test-model writes the same bytes as the cached test model", async () => {
    const dir = await mkdtemp(join(tmpdir(), "parley-cli-"));
    try {
      const out = join(dir, "m.gguf");
      const child = run(["make-test-model", out]);
      const code = await new Promise((resolve) => child.on("exit", resolve));
      assert.equal(code, 0);
      const hash = async (p: string) =>
        createHash("sha256")
          .update(await readFile(p))
          .digest("hex");
      assert.equal(await hash(out), await hash(await ensureTestModel()));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("make-test-model --size writes a preset and rejects unknown sizes", async () => {
    const dir = await mkdtemp(join(tmpdir(), "parley-cli-"));
    try {
      const out = join(dir, "m.gguf");
      const exit = (child: ChildProcess) => new Promise((resolve) => child.on("exit", resolve));
      assert.equal(await exit(run(["make-test-model", out, "--size", "tiny"])), 0);
      const hash = async (p: string) =>
        createHash("sha256")
          .update(await readFile(p))
          .digest("hex");
      assert.equal(await hash(out), await hash(await ensureTestModel()));
      assert.equal(await exit(run(["make-test-model", out, "--size", "7b"])), 2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("serve: health, a streamed answer, and graceful SIGTERM that lets the running request finish", async () => {
    const child = run(["serve", "--port", "0", "--threads", "1", "--parallel", "1", "--ctx-size", "4096"]);
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    try {
      const url = await listeningUrl(child);
      await waitHealthy(url);
      const res = await postChat(url, { model: MODEL, messages: [{ role: "user", content: "Hi" }], max_tokens: 1500, logit_bias: NO_EOS, stream: true });
      assert.ok(res.body);
      const reader = res.body.getReader();
      const first = await reader.read();
      assert.equal(first.done, false);
      child.kill("SIGTERM");
      let body = new TextDecoder().decode(first.value);
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        body += new TextDecoder().decode(value);
      }
      const frames = parseSse(body);
      assert.equal(frames.at(-1), "[DONE]");
      assert.match(frames.at(-2) ?? "", /"finish_reason":"length"/);
      assert.equal(await exited, 0);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("serve rejects bad flags with a readable message", async () => {
    const child = run(["serve", "--port", "not-a-port"]);
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    assert.equal(await new Promise((resolve) => child.on("exit", resolve)), 2);
    assert.match(stderr, /--port/);
  });
});
