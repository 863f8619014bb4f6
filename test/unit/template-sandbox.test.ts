import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, describe, test } from "node:test";
import { Template } from "@huggingface/jinja";
import { TemplateSandbox, TemplateSandboxError, type TemplateSandboxErrorKind } from "../../src/chat/template-sandbox.ts";

const TIMEOUT_MS = 500;

const CHATML = [
  "{%- for message in messages -%}",
  "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' -}}",
  "{%- endfor -%}",
  "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}",
].join("\n");

const MESSAGES = [
  { role: "system", content: "Be brief." },
  { role: "user", content: "Hi there" },
];

const ENDLESS = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}";

async function rejectsWith(promise: Promise<string>, kind: TemplateSandboxErrorKind | readonly TemplateSandboxErrorKind[]): Promise<TemplateSandboxError> {
  const kinds: readonly TemplateSandboxErrorKind[] = typeof kind === "string" ? [kind] : kind;
  try {
    const output = await promise;
    assert.fail(`expected a ${kinds.join("/")} error, got output ${JSON.stringify(output.slice(0, 100))}`);
  } catch (error) {
    assert.ok(error instanceof TemplateSandboxError, `expected a TemplateSandboxError, got ${String(error)}`);
    assert.ok(kinds.includes(error.kind), `expected kind ${kinds.join("/")}, got ${error.kind}: ${error.message}`);
    return error;
  }
}

describe("TemplateSandbox", () => {
  const sandbox = new TemplateSandbox({ timeoutMs: TIMEOUT_MS });
  after(() => sandbox.close());

  test("renders a ChatML template with messages as the library does in-process", async () => {
    const context = { messages: MESSAGES, add_generation_prompt: true };
    const output = await sandbox.render(CHATML, context);
    assert.equal(output, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n");
    assert.equal(output, new Template(CHATML).render(context));
    // Cached parse, different data.
    assert.equal(await sandbox.render(CHATML, { messages: [], add_generation_prompt: false }), "");
  });

  test("provides the library's globals (strftime_now)", async () => {
    assert.equal(await sandbox.render("{{ strftime_now('%Y') }}", {}), String(new Date().getFullYear()));
  });

  test("a template that does not parse is a syntax error", async () => {
    await rejectsWith(sandbox.render("{% for %}", {}), "syntax");
    await rejectsWith(sandbox.render("{{ 'unterminated }}", {}), "syntax");
  });

  test("raise_exception is a render error carrying its message", async () => {
    const error = await rejectsWith(sandbox.render("{{ raise_exception('x') }}", {}), "render");
    assert.equal(error.message, "x");
  });

  test("an endless loop times out, and the next render works", async () => {
    const started = performance.now();
    await rejectsWith(sandbox.render(ENDLESS, {}), "timeout");
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= TIMEOUT_MS - 50 && elapsed < TIMEOUT_MS + 1500, `timed out after ${elapsed} ms`);
    assert.equal(await sandbox.render("{{ a }}", { a: "again" }), "again");
  });

  test("memory bombs fail without harming this process, and the next render works", async () => {
    const small = new TemplateSandbox({ timeoutMs: 3000, maxOldGenerationSizeMb: 64 });
    try {
      // range() builds a real array: a large allocation near the heap limit.
      await rejectsWith(small.render("{% for i in range(10**9) %}{% endfor %}", {}), ["resources", "timeout"]);
      // List doubling.
      await rejectsWith(small.render("{% set ns = namespace(l=[1]) %}{% for i in range(40) %}{% set ns.l = ns.l + ns.l %}{% endfor %}", {}), ["resources", "timeout"]);
      // String doubling hits V8's string length limit.
      await rejectsWith(small.render("{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}", {}), "resources");
      assert.equal(await small.render("{{ a }}", { a: "alive" }), "alive");
    } finally {
      await small.close();
    }
  });

  test("output over maxOutputChars is rejected", async () => {
    const small = new TemplateSandbox({ timeoutMs: TIMEOUT_MS, maxOutputChars: 100 });
    try {
      assert.equal(await small.render("{% for i in range(100) %}x{% endfor %}", {}), "x".repeat(100));
      await rejectsWith(small.render("{% for i in range(101) %}x{% endfor %}", {}), "output_too_large");
    } finally {
      await small.close();
    }
  });

  test("concurrent renders are queued and each gets its own result", async () => {
    const outputs = await Promise.all(Array.from({ length: 12 }, (_, i) => sandbox.render("{{ n * 2 }}", { n: i })));
    assert.deepEqual(
      outputs,
      Array.from({ length: 12 }, (_, i) => String(i * 2)),
    );
  });

  test("beyond maxQueue waiting renders, new ones are refused as busy", async () => {
    const bounded = new TemplateSandbox({ timeoutMs: TIMEOUT_MS, maxQueue: 2 });
    try {
      // Nothing runs before the process is up, so both wait in the queue.
      const waiting = [bounded.render("a", {}), bounded.render("b", {})];
      await rejectsWith(bounded.render("c", {}), "busy");
      assert.deepEqual(await Promise.all(waiting), ["a", "b"]);
    } finally {
      await bounded.close();
    }
  });

  test("a context that cannot be cloned is rejected, not thrown", async () => {
    await rejectsWith(sandbox.render("{{ f }}", { f: () => 1 }), "internal");
    assert.equal(await sandbox.render("ok", {}), "ok");
  });

  test("aborting rejects promptly with the signal's reason, running or queued", async () => {
    const reason = new Error("client went away");
    const already = AbortSignal.abort(reason);
    await assert.rejects(sandbox.render("x", {}, already), (error) => error === reason);

    const running = new AbortController();
    const queued = new AbortController();
    const first = sandbox.render(ENDLESS, {}, running.signal);
    const second = sandbox.render("{{ 1 }}", {}, queued.signal);
    const third = sandbox.render("{{ 3 }}", {});
    queued.abort(reason);
    await assert.rejects(second, (error) => error === reason);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    running.abort(reason);
    await assert.rejects(first, (error) => error === reason);
    assert.ok(performance.now() - started < 500);
    assert.equal(await third, "3");
  });

  test("close rejects pending renders and later ones", async () => {
    const closing = new TemplateSandbox({ timeoutMs: 5000 });
    assert.equal(await closing.render("warm", {}), "warm");
    const running = rejectsWith(closing.render(ENDLESS, {}), "internal");
    const queued = rejectsWith(closing.render("{{ 1 }}", {}), "internal");
    await closing.close();
    await running;
    await queued;
    await rejectsWith(closing.render("x", {}), "internal");
  });

  test("an idle sandbox does not keep the process alive", async () => {
    const moduleUrl = new URL("../../src/chat/template-sandbox.ts", import.meta.url).href;
    const script = [
      `const { TemplateSandbox } = await import(${JSON.stringify(moduleUrl)});`,
      `const sandbox = new TemplateSandbox({ timeoutMs: 300 });`,
      `console.log(await sandbox.render("{{ a }}", { a: "one" }));`,
      `console.log(await sandbox.render(${JSON.stringify(ENDLESS)}, {}).catch((error) => error.kind));`,
      `console.log(await sandbox.render("{{ a }}", { a: "two" }));`,
    ].join("\n");
    const started = performance.now();
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { timeout: 8000 }, (error, out, err) =>
        error === null ? resolve(out) : reject(new Error(`${error.message}\n${err}`)),
      );
    });
    assert.equal(stdout, "one\ntimeout\ntwo\n");
    assert.ok(performance.now() - started < 8000);
  });
});
