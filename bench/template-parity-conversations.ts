/**
 * The fixed conversations bench/template-parity.ts renders every template with, as the contexts a
 * chat template sees (Hugging Face's shape, the one src/chat/template.ts `templateContext` builds:
 * messages, tools, add_generation_prompt, bos/eos tokens, date_string, tools_in_user_message, plus
 * extra keyword arguments such as enable_thinking). Written to reach the places where engines
 * differ: tools without a description, a parameter with `enum` but no `type`, tool calls whose
 * arguments are objects, tool results, reasoning_content, no generation prompt.
 */

export interface ParityContext {
  readonly name: string;
  readonly context: Record<string, unknown>;
}

const WEATHER_TOOL = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Get the current weather in a city.",
    parameters: {
      type: "object",
      properties: {
        city: { type: "string", description: "City name, e.g. Paris" },
        unit: { enum: ["celsius", "fahrenheit"], description: "Temperature unit" },
        days: { type: "integer", description: "Days ahead", minimum: 0, maximum: 7.5 },
        tags: { type: "array", items: { type: "string" } },
      },
      required: ["city"],
    },
  },
};

/** No description at all, and no parameter descriptions. */
const BARE_TOOL = {
  type: "function",
  function: { name: "ping", parameters: { type: "object", properties: { host: { type: "string" } }, required: ["host"] } },
};

const TOOLS = [WEATHER_TOOL, BARE_TOOL];

const TURNS = [
  { role: "user", content: "Hello! Who are you?" },
  { role: "assistant", content: "I am a helpful assistant." },
  { role: "user", content: "What's 2+2? Answer with \"4\" or 'four' — ünïcødé ✓ 😀" },
];

const SYSTEM = { role: "system", content: "You are a terse assistant.\nAnswer briefly." };

const TOOL_CALL_TURNS = [
  { role: "user", content: "Weather in Paris and ping example.com?" },
  {
    role: "assistant",
    content: "",
    tool_calls: [
      { id: "call_1", type: "function", function: { name: "get_weather", arguments: { city: "Paris", unit: "celsius", days: 2 } } },
      { id: "call_2", type: "function", function: { name: "ping", arguments: { host: "example.com" } } },
    ],
  },
  { role: "tool", content: '{"temperature": 21.5, "sky": "clear"}', name: "get_weather", tool_call_id: "call_1" },
  { role: "tool", content: "pong", name: "ping", tool_call_id: "call_2" },
  { role: "assistant", content: "It is 21.5 °C and clear in Paris; example.com answers." },
  { role: "user", content: "Thanks. And Rome?" },
];

function base(messages: readonly unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    tools_in_user_message: true,
    date_string: "26 Jul 2024",
    messages,
    tools: null,
    add_generation_prompt: true,
    bos_token: "<s>",
    eos_token: "</s>",
    ...extra,
  };
}

export const PARITY_CONTEXTS: readonly ParityContext[] = [
  { name: "single-user", context: base([{ role: "user", content: "Hi" }]) },
  { name: "multi-turn", context: base(TURNS) },
  { name: "system", context: base([SYSTEM, ...TURNS]) },
  { name: "no-generation-prompt", context: base([SYSTEM, ...TURNS, { role: "assistant", content: "4" }], { add_generation_prompt: false }) },
  { name: "tools-offered", context: base([SYSTEM, TURNS[0]], { tools: TOOLS }) },
  { name: "tools-offered-no-system", context: base([TURNS[0]], { tools: TOOLS }) },
  { name: "tool-calls", context: base([SYSTEM, ...TOOL_CALL_TURNS], { tools: TOOLS }) },
  { name: "tool-calls-no-tools", context: base(TOOL_CALL_TURNS) },
  {
    name: "reasoning",
    context: base([SYSTEM, TURNS[0], { role: "assistant", content: "I am a helpful assistant.", reasoning_content: "The user asks who I am.\nI answer." }, TURNS[2]]),
  },
  { name: "thinking-off", context: base([SYSTEM, ...TURNS], { enable_thinking: false }) },
  { name: "thinking-on", context: base([SYSTEM, ...TURNS], { enable_thinking: true }) },
  {
    name: "reasoning-tool-calls-off",
    context: base([TOOL_CALL_TURNS[0], { ...TOOL_CALL_TURNS[1], reasoning_content: "I should call both tools." }, ...TOOL_CALL_TURNS.slice(2)], {
      tools: TOOLS,
      enable_thinking: false,
      add_generation_prompt: false,
    }),
  },
];
