import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { MODEL, postChat, startTestServer, type TestServer } from "../support/server.ts";

describe("--chat-template-file", () => {
  let t: TestServer;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "parley-template-"));
    const file = join(dir, "template.jinja");
    // Renders only the last message, and refuses system messages the way real templates do.
    await writeFile(file, "{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% endfor %}" + "{{ bos_token }}{{ messages[-1].content }}");
    t = await startTestServer(["--chat-template-file", file]);
  });
  after(async () => {
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  const usage = async (messages: unknown[]) => {
    const res = await postChat(t.url, { model: MODEL, messages, max_tokens: 1 });
    assert.equal(res.status, 200);
    return ((await res.json()) as { usage: { prompt_tokens: number } }).usage.prompt_tokens;
  };

  it("renders prompts with the override, adding BOS only once", async () => {
    // BOS (written by the template and wanted by the model: still one) + " the" (one token).
    assert.equal(await usage([{ role: "user", content: " the" }]), 2);
    assert.equal(
      await usage([
        { role: "user", content: "ignored" },
        { role: "assistant", content: "x" },
        { role: "user", content: " the" },
      ]),
      2,
    );
  });

  it("a template's raise_exception becomes a 400 naming messages", async () => {
    const res = await postChat(t.url, {
      model: MODEL,
      messages: [
        { role: "system", content: "s" },
        { role: "user", content: "u" },
      ],
      max_tokens: 1,
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { param: string; message: string } };
    assert.equal(body.error.param, "messages");
    assert.match(body.error.message, /System role not supported/);
  });

  it("a long conversation renders off the event loop with the same template (and errors)", async () => {
    // More than INLINE_RENDER_ITEMS messages go to the template sandbox: same prompt, same 400s.
    const filler = Array.from({ length: 300 }, (_, i) => ({ role: i % 2 === 0 ? "user" : "assistant", content: "x" }));
    assert.equal(await usage([...filler, { role: "user", content: " the" }]), 2);
    const res = await postChat(t.url, { model: MODEL, messages: [{ role: "system", content: "s" }, ...filler, { role: "user", content: "u" }], max_tokens: 1 });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { param: string; message: string } };
    assert.equal(body.error.param, "messages");
    assert.match(body.error.message, /System role not supported/);
  });
});
