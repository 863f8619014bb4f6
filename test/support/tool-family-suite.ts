/**
 * The end-to-end checks every tool-call family must pass, for families recognised from a client's
 * `chat_template` (templates written in each family's style) on the default test model: `required`
 * calls schema-valid, in the family's own layout (as the sampled tokens show), streamed = not
 * streamed, ids unique, no markup in content; a named call; one call without parallel calls;
 * `none` never calls; an earlier call and its result rendered in the family's format.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ChatCompletion, ChatCompletionFunctionTool } from "openai/resources/chat/completions";
import { MODEL, parseSse, postChat, startTestServer, type TestServer } from "./server.ts";
import { callValidator, foldStream, TEST_TOOLS } from "./tools.ts";

export interface FamilyCase {
  readonly name: string;
  /** A client template in the family's style. */
  readonly template: string;
  /** Markup that must never reach `content`. */
  readonly marker: string;
  /** What the sampled tokens of a `required` answer must match. */
  readonly layout: RegExp;
  /** What the template must write for the history's earlier call. */
  readonly history: string;
}

export interface FamilySuiteOptions {
  readonly title: string;
  readonly families: readonly FamilyCase[];
  /** The tools offered (default TEST_TOOLS); the named call is to `get_weather`. */
  readonly tools?: readonly ChatCompletionFunctionTool[];
  /** The arguments of the history's earlier `get_weather` call (default `{"city": "Oslo"}`). */
  readonly historyArguments?: string;
  /** More checks on the named call's parsed arguments (default none). */
  readonly checkNamed?: (args: Record<string, unknown>) => void;
  /** Arguments are JSON even when `max_tokens` cut the call (parsers that build the JSON themselves; default false). */
  readonly jsonWhenCut?: boolean;
  /** `max_tokens` of the calls (default 300). */
  readonly maxTokens?: number;
}

export function describeToolFamilies(options: FamilySuiteOptions): void {
  const tools = options.tools ?? TEST_TOOLS;
  const assertValid = callValidator(tools);
  describe(options.title, () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer(["--ctx-size", "2048"]);
    });
    after(() => t.close());

    for (const family of options.families) {
      const post = async (body: Record<string, unknown>) => {
        const res = await postChat(t.url, {
          model: MODEL,
          messages: [{ role: "user", content: "Weather in Oslo?" }],
          tools,
          chat_template: family.template,
          max_tokens: options.maxTokens ?? 300,
          ...body,
        });
        assert.equal(res.status, 200, await res.clone().text());
        return res;
      };

      it(`${family.name}: required calls are schema-valid, in the family's format, streamed = non-streamed`, async () => {
        let complete = 0;
        for (let seed = 1; seed <= 4; seed++) {
          const body = { tool_choice: "required", temperature: 1, seed, logprobs: true };
          const result = (await (await post(body)).json()) as ChatCompletion;
          const choice = result.choices[0];
          const calls = choice?.message.tool_calls ?? [];
          assert.ok(calls.length >= 1, `seed ${seed}: ${JSON.stringify(choice?.message)}`);
          assert.ok(!(choice?.message.content ?? "").includes(family.marker));
          // The tokens say what the model wrote: the family's own markup (split UTF-8 shows as U+FFFD).
          const written = (choice?.logprobs?.content ?? []).map((l) => l.token).join("");
          assert.match(written, family.layout);
          if (options.jsonWhenCut === true) for (const call of calls) if (call.type === "function") assert.doesNotThrow(() => JSON.parse(call.function.arguments), call.function.arguments);
          if (choice?.finish_reason === "length") continue;
          complete++;
          assert.equal(choice?.finish_reason, "tool_calls");
          for (const call of calls) if (call.type === "function") assertValid(call.function, `(seed ${seed})`);
          assert.equal(new Set(calls.map((c) => c.id)).size, calls.length, "ids are unique");
          const streamed = foldStream(parseSse(await (await post({ ...body, stream: true })).text()));
          assert.deepEqual(
            streamed.calls.map((c) => [c.name, c.arguments]),
            calls.map((c) => (c.type === "function" ? [c.function.name, c.function.arguments] : [])),
          );
          assert.equal(streamed.content, choice?.message.content ?? "");
        }
        assert.ok(complete >= 2, `only ${complete} of 4 completed`);
      });

      it(`${family.name}: a named call, one call without parallel calls, none never calls, history in the family's format`, async () => {
        const named = (await (await post({ tool_choice: { type: "function", function: { name: "get_weather" } }, temperature: 1, seed: 9 })).json()) as ChatCompletion;
        const namedCalls = named.choices[0]?.message.tool_calls ?? [];
        assert.deepEqual(
          namedCalls.map((c) => (c.type === "function" ? c.function.name : "")),
          ["get_weather"],
        );
        if (named.choices[0]?.finish_reason !== "length") {
          for (const c of namedCalls) {
            if (c.type !== "function") continue;
            assertValid(c.function, "(named)");
            options.checkNamed?.(JSON.parse(c.function.arguments) as Record<string, unknown>);
          }
        }
        const single = (await (await post({ tool_choice: "required", parallel_tool_calls: false, temperature: 1, seed: 3 })).json()) as ChatCompletion;
        assert.equal(single.choices[0]?.message.tool_calls?.length, 1);
        const none = (await (await post({ tool_choice: "none", temperature: 1, seed: 9, max_tokens: 30 })).json()) as ChatCompletion;
        assert.equal(none.choices[0]?.message.tool_calls, undefined);
        const history = [
          { role: "user", content: "Weather in Oslo?" },
          { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: options.historyArguments ?? '{"city": "Oslo"}' } }] },
          { role: "tool", tool_call_id: "call_1", content: "3 C" },
        ];
        const res = await fetch(`${t.url}/apply-template`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: MODEL, messages: history, tools, chat_template: family.template }),
        });
        assert.equal(res.status, 200, await res.clone().text());
        const { prompt } = (await res.json()) as { prompt: string };
        assert.ok(prompt.includes(family.history), prompt);
      });
    }
  });
}
