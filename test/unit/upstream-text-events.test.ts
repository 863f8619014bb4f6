/**
 * `TextEvents`: an upstream's `text_completion` chunks and bodies → Parley's events. The echo
 * split (a token-id prompt, one token per id; a text the prompt does not start; a choice that ends
 * mid-echo), alternatives cut and sorted, `n` choices sharing one prompt_logprobs event.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TextEvents } from "../../src/engines/upstream/text-events.ts";

const choice = (index: number, text: string, logprobs: unknown = null, finish_reason: string | null = null) => ({ choices: [{ index, text, logprobs, finish_reason }] });
const legacy = (tokens: string[], values: (number | null)[], offsets: number[], tops: (Record<string, number> | null)[] = tokens.map(() => null)) => ({
  tokens,
  token_logprobs: values,
  top_logprobs: tops,
  text_offset: offsets,
});

describe("TextEvents", () => {
  it("without echo: each chunk is a delta; alternatives sorted by log-probability and cut", () => {
    const parser = new TextEvents({ topLogprobs: 1 });
    const events = parser.chunk(
      choice(
        0,
        "ab",
        legacy(
          ["a", "b"],
          [-1, -2],
          [0, 1],
          [
            { x: -3, a: -1 },
            { b: -2, y: -0.5 },
          ],
        ),
        "stop",
      ),
    );
    assert.deepEqual(
      events.map((e) => e.type),
      ["delta", "finish"],
    );
    const delta = events[0];
    assert.ok(delta?.type === "delta");
    assert.deepEqual(
      delta.logprobs.map((l) => [l.token, l.logprob, l.topLogprobs.map((t) => t.token), l.bytes]),
      [
        ["a", -1, ["a"], [97]],
        ["b", -2, ["y"], [98]],
      ],
    );
  });

  it("echo of a token-id prompt: one token per id is the prompt's, split off with its text", () => {
    const parser = new TextEvents({ topLogprobs: 0, echoPrompt: [7, 8] });
    const events = parser.chunk(choice(0, "XY!", legacy(["X", "Y", "!"], [null, -1, -0.5], [0, 1, 2])));
    assert.deepEqual(
      events.map((e) => (e.type === "delta" ? ["delta", e.text, e.logprobs.length] : e.type === "prompt_logprobs" ? ["prompt", e.entries.map((x) => x?.token ?? null)] : [e.type])),
      [
        ["prompt", [null, "Y"]],
        ["delta", "XY", 0],
        ["delta", "!", 1],
      ],
    );
  });

  it("n choices share the prompt: one prompt_logprobs event; a text that is not the prompt is not split", () => {
    const parser = new TextEvents({ echoPrompt: "Hi" });
    const first = parser.chunk({
      choices: [
        { index: 0, text: "Hi", logprobs: legacy(["Hi"], [null], [0]), finish_reason: null },
        { index: 1, text: "Hi", logprobs: legacy(["Hi"], [null], [0]), finish_reason: null },
      ],
    });
    assert.deepEqual(
      first.map((e) => e.type),
      ["prompt_logprobs", "delta", "delta"],
    );
    const other = new TextEvents({ echoPrompt: "Hello" });
    const events = other.chunk(choice(0, "Nope", legacy(["Nope"], [-1], [0]), "stop"));
    assert.deepEqual(
      events.map((e) => (e.type === "delta" ? e.text : e.type)),
      ["Nope", "finish"],
    );
  });

  it("a choice that ends mid-echo flushes what it gathered; a whole body ends with its usage", () => {
    const parser = new TextEvents({ echoPrompt: "Hello there" });
    const events = parser.completion({ choices: [{ index: 0, text: "Hello", logprobs: legacy(["Hello"], [null], [0]), finish_reason: "length" }], usage: { prompt_tokens: 3, completion_tokens: 0 } });
    assert.deepEqual(
      events.map((e) => (e.type === "delta" ? e.text : e.type === "finish" ? e.reason : e.type)),
      ["prompt_logprobs", "Hello", "length", "usage"],
    );
  });
});
