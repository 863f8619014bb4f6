/**
 * The three tool-calling families' test GGUFs (family-templates.ts + the writer's special-token
 * sets): each carries its template, which Parley detects as the right family and renders a tool
 * conversation with exactly the family's markup, and each loads in llama.cpp with its markers as
 * single control tokens.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Template } from "@huggingface/jinja";
import { getLlama, LlamaLogLevel, readGgufFileInfo, type Llama, type Token } from "node-llama-cpp";
import { DEFAULT_CHAT_TEMPLATE, ChatTemplate } from "../../src/chat/template.ts";
import { detectToolFamily } from "../../src/chat/tools/detect.ts";
import type { ToolFamily } from "../../src/chat/tools/syntax.ts";
import type { ChatMessage } from "../../src/domain/chat.ts";
import { ParleyError } from "../../src/domain/errors.ts";
import type { ToolDefinition } from "../../src/domain/tools.ts";
import { TEST_MODEL_CHAT_TEMPLATE } from "../../src/testing/chat-template.ts";
import { familyTestModelOptions, LLAMA3_STYLE_TEMPLATE, MISTRAL_STYLE_TEMPLATE, QWEN_STYLE_TEMPLATE, type TestModelFamily } from "../../src/testing/family-templates.ts";
import {
  ensureTestModel,
  TEST_MODEL_LLAMA3_SPECIAL_TOKENS as L,
  TEST_MODEL_MISTRAL_SPECIAL_TOKENS as M,
  TEST_MODEL_SPECIAL_TOKENS as Q,
  testModelFileName,
  testModelVocabulary,
  writeTestModel,
} from "../../src/testing/test-model.ts";
import { at, sha256 } from "../support/gguf.ts";

const TOOLS: ToolDefinition[] = [
  {
    name: "get_weather",
    description: "Current weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    strict: false,
  },
  { name: "get_time", description: "Local time in a time zone", parameters: { type: "object", properties: { timezone: { type: "string" } } }, strict: false },
];
const WEATHER_JSON =
  '{"type": "function", "function": {"name": "get_weather", "description": "Current weather in a city", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}';
const TIME_JSON =
  '{"type": "function", "function": {"name": "get_time", "description": "Local time in a time zone", "parameters": {"type": "object", "properties": {"timezone": {"type": "string"}}}}}';

const DATE = new Date(2026, 0, 15); // "15 Jan 2026"

/** system, user, assistant calls (two, or one for Llama 3), a result per call, an answer, a new user message. */
function conversation(calls: 1 | 2): ChatMessage[] {
  const weather = { id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' };
  const time = { id: "call_2", name: "get_time", arguments: '{"timezone":"Asia/Tokyo"}' };
  return [
    { role: "system", content: "You are a travel assistant." },
    { role: "user", content: calls === 2 ? "Weather in Paris and time in Tokyo?" : "Weather in Paris?" },
    { role: "assistant", content: "", toolCalls: calls === 2 ? [weather, time] : [weather] },
    { role: "tool", toolCallId: "call_1", content: "18°C, sunny" },
    ...(calls === 2 ? [{ role: "tool" as const, toolCallId: "call_2", content: "21:04" }] : []),
    { role: "assistant", content: "Sunny and 18°C." },
    { role: "user", content: "And Rome?" },
  ];
}

const LLAMA3_TOOLS =
  'The functions below are available to you. When calling one of them is the best way to respond, answer with a single JSON object of the form {"name": function name, "parameters": arguments object} and with nothing else. Only call the functions listed here.\n\n' +
  `${WEATHER_JSON}\n\n${TIME_JSON}\n\n`;
const llama3Turn = (role: string, content: string): string => `<|start_header_id|>${role}<|end_header_id|>\n\n${content}<|eot_id|>`;
const LLAMA3_SYSTEM_HEAD = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nKnowledge cutoff: December 2023\nCurrent date: 15 Jan 2026\n\n";
const LLAMA3_AFTER_FIRST_USER =
  llama3Turn("assistant", '{"name": "get_weather", "parameters": {"city": "Paris"}}') +
  llama3Turn("ipython", "18°C, sunny") +
  llama3Turn("assistant", "Sunny and 18°C.") +
  llama3Turn("user", "And Rome?") +
  "<|start_header_id|>assistant<|end_header_id|>\n\n";

const LLAMA3_EXPECTED = `${LLAMA3_SYSTEM_HEAD}You are a travel assistant.<|eot_id|>` + llama3Turn("user", `${LLAMA3_TOOLS}Weather in Paris?`) + LLAMA3_AFTER_FIRST_USER;

const MISTRAL_EXPECTED =
  "<s>[INST] Weather in Paris and time in Tokyo?[/INST]" +
  '[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Paris"}, "id": "call_1"}, {"name": "get_time", "arguments": {"timezone": "Asia/Tokyo"}, "id": "call_2"}]</s>' +
  '[TOOL_RESULTS] {"content": "18°C, sunny", "call_id": "call_1"}[/TOOL_RESULTS]' +
  '[TOOL_RESULTS] {"content": "21:04", "call_id": "call_2"}[/TOOL_RESULTS]' +
  "Sunny and 18°C.</s>" +
  `[AVAILABLE_TOOLS] [${WEATHER_JSON}, ${TIME_JSON}][/AVAILABLE_TOOLS]` +
  "[INST] You are a travel assistant.\n\nAnd Rome?[/INST]";

const QWEN_EXPECTED =
  "<|im_start|>system\nYou are a travel assistant.\n\n# Tools\n\n" +
  "You have functions at your disposal. Each one is described by a JSON object in the <tools> block below.\n" +
  `<tools>\n${WEATHER_JSON}\n${TIME_JSON}\n</tools>\n\n` +
  "To call a function, write its name and arguments as a JSON object between <tool_call> and </tool_call> tags, one block per call, for example:\n" +
  '<tool_call>\n{"name": "function_name", "arguments": {"argument_name": "value"}}\n</tool_call><|im_end|>\n' +
  "<|im_start|>user\nWeather in Paris and time in Tokyo?<|im_end|>\n" +
  '<|im_start|>assistant\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n' +
  '<tool_call>\n{"name": "get_time", "arguments": {"timezone": "Asia/Tokyo"}}\n</tool_call><|im_end|>\n' +
  "<|im_start|>user\n<tool_response>\n18°C, sunny\n</tool_response>\n<tool_response>\n21:04\n</tool_response><|im_end|>\n" +
  "<|im_start|>assistant\nSunny and 18°C.<|im_end|>\n" +
  "<|im_start|>user\nAnd Rome?<|im_end|>\n" +
  "<|im_start|>assistant\n";

interface FamilyCase {
  readonly family: TestModelFamily;
  readonly detected: ToolFamily;
  readonly template: string;
  readonly calls: 1 | 2;
  readonly expected: string;
  /** The markers the rendered prompt must contain as single tokens. */
  readonly markers: readonly { readonly id: number; readonly text: string }[];
  /** Every special token of the GGUF. */
  readonly specials: readonly { readonly id: number; readonly text: string }[];
}

const CASES: readonly FamilyCase[] = [
  {
    family: "llama3",
    detected: "llama3",
    template: LLAMA3_STYLE_TEMPLATE,
    calls: 1,
    expected: LLAMA3_EXPECTED,
    markers: [L.bos, L.startHeader, L.endHeader, L.eot],
    specials: Object.values(L),
  },
  {
    family: "mistral",
    detected: "mistral",
    template: MISTRAL_STYLE_TEMPLATE,
    calls: 2,
    expected: MISTRAL_EXPECTED,
    markers: [M.bos, M.eos, M.inst, M.instEnd, M.toolCalls, M.availableTools, M.availableToolsEnd, M.toolResults, M.toolResultsEnd],
    specials: Object.values(M),
  },
  {
    family: "qwen",
    detected: "hermes",
    template: QWEN_STYLE_TEMPLATE,
    calls: 2,
    expected: QWEN_EXPECTED,
    markers: [Q.imStart, Q.imEnd, Q.toolCallStart, Q.toolCallEnd, Q.toolResponseStart, Q.toolResponseEnd],
    specials: Object.values(Q),
  },
];

let dir: string;
let llama: Llama;
const logs: string[] = [];
const paths = new Map<TestModelFamily, string>();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "parley-tool-rendering-"));
  for (const c of CASES) paths.set(c.family, await ensureTestModel({ cacheDir: dir, model: familyTestModelOptions(c.family) }));
  llama = await getLlama({
    gpu: false,
    logLevel: LlamaLogLevel.warn,
    logger: (level, message) => {
      if (message.trim() !== "") logs.push(`${level}: ${message.trim()}`);
    },
  });
});

after(async () => {
  await llama?.dispose();
  await rm(dir, { recursive: true, force: true });
});

function pathOf(family: TestModelFamily): string {
  const path = paths.get(family);
  assert.ok(path !== undefined);
  return path;
}

function render(c: FamilyCase, source: string): string {
  const vocab = testModelVocabulary(familyTestModelOptions(c.family));
  return new ChatTemplate(source).render(conversation(c.calls), {
    tools: TOOLS,
    date: DATE,
    bosToken: vocab.tokens[vocab.bos] ?? "",
    eosToken: vocab.tokens[vocab.eos] ?? "",
  });
}

for (const c of CASES) {
  describe(`${c.family}-style test model`, () => {
    test(`carries its template, detected as the ${c.detected} family`, async () => {
      const info = await readGgufFileInfo(pathOf(c.family), { logWarnings: false });
      const source = at(info.metadata, "tokenizer.chat_template");
      assert.equal(source, c.template);
      assert.equal(detectToolFamily(String(source)).syntax.family, c.detected);
    });

    test("renders a multi-turn tool conversation in the family's markup", async () => {
      const info = await readGgufFileInfo(pathOf(c.family), { logWarnings: false });
      assert.equal(render(c, String(at(info.metadata, "tokenizer.chat_template"))), c.expected);
    });

    test("loads without llama.cpp warnings; markers are single control tokens", async () => {
      logs.length = 0;
      const model = await llama.loadModel({ modelPath: pathOf(c.family) });
      try {
        const context = await model.createContext({ contextSize: 1024, threads: 1 });
        const prompt = model.tokenize(c.expected, true);
        await context.getSequence().evaluateWithoutGeneratingNewTokens(prompt);
        await context.dispose();
        await new Promise((resolve) => setTimeout(resolve, 300)); // llama.cpp logs arrive asynchronously
        assert.deepEqual(logs, []);

        const vocab = testModelVocabulary(familyTestModelOptions(c.family));
        assert.equal(model.tokens.bos, vocab.bos);
        assert.equal(model.tokens.eos, vocab.eos);
        assert.equal(model.tokens.eot, vocab.eot);
        for (const id of vocab.eogTokens) assert.equal(model.isEogToken(id as Token), true, `token ${id} should end generation`);
        for (const s of c.specials) assert.deepEqual(model.tokenize(s.text, true), [s.id], s.text);
        for (const s of c.markers) assert.ok(prompt.includes(s.id as Token), `${s.text} is one token in the prompt`);
        assert.equal(model.detokenize(prompt, true), c.expected);
      } finally {
        await model.dispose();
      }
    });
  });
}

describe("tool family detection of the other templates", () => {
  test("the default test model's template is Hermes-style; Parley's fallback ChatML template is generic", () => {
    assert.equal(detectToolFamily(TEST_MODEL_CHAT_TEMPLATE).syntax.family, "hermes");
    assert.equal(detectToolFamily(DEFAULT_CHAT_TEMPLATE).syntax.family, "generic");
  });
});

describe("Llama 3-style template details", () => {
  const llama3 = new ChatTemplate(LLAMA3_STYLE_TEMPLATE);
  const options = { tools: TOOLS, date: DATE, bosToken: L.bos.text, eosToken: L.eos.text };

  test("tools_in_user_message false moves the tools to the system turn", () => {
    const text = llama3.render(conversation(1), { ...options, variables: { tools_in_user_message: false } });
    const expected = `${LLAMA3_SYSTEM_HEAD}${LLAMA3_TOOLS}You are a travel assistant.<|eot_id|>` + llama3Turn("user", "Weather in Paris?") + LLAMA3_AFTER_FIRST_USER;
    assert.equal(text, expected);
  });

  test("two calls in one assistant message are a 400 about messages", () => {
    assert.throws(
      () => llama3.render(conversation(2), options),
      (error: unknown) => error instanceof ParleyError && error.kind === "invalid_request" && error.param === "messages" && /one tool call per assistant message/.test(error.message),
    );
  });

  test("tools with no user message to carry them are an error; without tools a bare system turn renders", () => {
    const system: ChatMessage[] = [{ role: "system", content: "Be brief." }];
    assert.throws(() => llama3.render(system, options), ParleyError);
    assert.equal(
      llama3.render(system, { date: DATE, addGenerationPrompt: false }),
      "<|start_header_id|>system<|end_header_id|>\n\nKnowledge cutoff: December 2023\nCurrent date: 15 Jan 2026\n\nBe brief.<|eot_id|>",
    );
  });

  test("date_string has a default when the caller does not set it", () => {
    const text = new Template(LLAMA3_STYLE_TEMPLATE).render({ messages: [{ role: "user", content: "Hi" }], bos_token: "", add_generation_prompt: false });
    assert.equal(text, "<|start_header_id|>system<|end_header_id|>\n\nKnowledge cutoff: December 2023\nCurrent date: 01 Jan 2025\n\n<|eot_id|>" + llama3Turn("user", "Hi"));
  });
});

describe("Mistral- and Qwen-style template details", () => {
  test("Mistral: no tools, no system; a system message later is an error", () => {
    const mistral = new ChatTemplate(MISTRAL_STYLE_TEMPLATE);
    const messages: ChatMessage[] = [
      { role: "user", content: "Hi" },
      { role: "assistant", content: "Hello!" },
      { role: "user", content: "Bye" },
    ];
    assert.equal(mistral.render(messages, { bosToken: "<s>", eosToken: "</s>" }), "<s>[INST] Hi[/INST]Hello!</s>[INST] Bye[/INST]");
    assert.throws(() => mistral.render([...messages, { role: "system", content: "late" }], {}), ParleyError);
  });

  test("Qwen: a default system turn, and the call after text content on its own line", () => {
    const messages: ChatMessage[] = [
      { role: "user", content: "Hi" },
      { role: "assistant", content: "Checking.", toolCalls: [{ id: "c", name: "get_time", arguments: "{}" }] },
    ];
    assert.equal(
      new ChatTemplate(QWEN_STYLE_TEMPLATE).render(messages, { addGenerationPrompt: false }),
      "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n" +
        '<|im_start|>assistant\nChecking.\n<tool_call>\n{"name": "get_time", "arguments": {}}\n</tool_call><|im_end|>\n',
    );
  });
});

describe("family test models: files", () => {
  test("each family has its own cache name; the ChatML set is the default model", async () => {
    const names = [testModelFileName(), ...CASES.map((c) => testModelFileName(familyTestModelOptions(c.family)))];
    assert.equal(new Set(names).size, names.length);
    assert.equal(testModelFileName({ specialTokenSet: "chatml" }), testModelFileName());
    const a = join(dir, "chatml-explicit.gguf");
    const b = join(dir, "default.gguf");
    await writeTestModel(a, { specialTokenSet: "chatml" });
    await writeTestModel(b);
    assert.equal(await sha256(a), await sha256(b));
  });

  test("a set's own template is the default; the sets share every non-special token", () => {
    assert.equal(testModelFileName({ specialTokenSet: "llama3" }), testModelFileName(familyTestModelOptions("llama3")));
    assert.equal(testModelFileName({ specialTokenSet: "mistral" }), testModelFileName(familyTestModelOptions("mistral")));
    const [chatml, llama3, mistral] = (["chatml", "llama3", "mistral"] as const).map((set) => testModelVocabulary({ specialTokenSet: set }));
    for (const vocab of [llama3, mistral]) {
      assert.ok(vocab !== undefined && chatml !== undefined);
      assert.equal(vocab.tokens.length, 2048);
      assert.deepEqual(vocab.tokens.slice(9), chatml.tokens.slice(9));
      assert.deepEqual(vocab.merges, chatml.merges);
      assert.ok(
        vocab.tokenTypes.slice(0, 9).every((type) => type === 3),
        "all special tokens are control tokens",
      );
    }
    assert.deepEqual(
      llama3?.tokens.slice(0, 9),
      Object.values(L).map((s) => s.text),
    );
    assert.deepEqual(
      mistral?.tokens.slice(0, 9),
      Object.values(M).map((s) => s.text),
    );
    assert.throws(() => testModelVocabulary({ tokenizer: "spm", specialTokenSet: "llama3" }), /BPE/);
  });
});
