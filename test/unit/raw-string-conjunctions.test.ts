/**
 * zod's format + pattern + maxLength strings as tool parameters in the call shapes that write
 * strings raw (xml-params: Qwen3-Coder, GLM 4.5; literal-args: Gemma 4, LFM2): the grammar
 * enforces the same conjunction as for JSON. Generation-validated: calls sampled from the tool
 * grammar (support/gbnf-sampler.ts, a share checked with llama.cpp's engine), read back by the
 * family's own parser, must pass zod.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { getLlama, type Llama } from "node-llama-cpp";
import { z } from "zod";
import { createToolCallParser } from "../../src/chat/tools/call-parser.ts";
import { gemma4Family } from "../../src/chat/tools/families/gemma-4.ts";
import { glm45Family } from "../../src/chat/tools/families/glm-4-5.ts";
import { lfm2Family } from "../../src/chat/tools/families/lfm2.ts";
import { qwen3CoderFamily } from "../../src/chat/tools/families/qwen3-coder.ts";
import { parameterTypesOf } from "../../src/chat/tools/parameter-types.ts";
import type { ToolCallSyntax } from "../../src/chat/tools/syntax.ts";
import { toolGrammar } from "../../src/chat/tools/tool-grammar.ts";
import type { ToolDefinition } from "../../src/domain/tools.ts";
import { gbnfSampler } from "../support/gbnf-sampler.ts";
import { accepts } from "../support/grammar.ts";

let llama: Llama;
before(async () => {
  llama = await getLlama({ gpu: false });
});
after(async () => {
  await llama.dispose();
});

const Contact = z.object({
  id: z.uuid(),
  key: z.uuidv7(),
  email: z.email().max(32),
  day: z.iso.date(),
  handle: z
    .string()
    .regex(/^@[a-z0-9_<"\\]+$/)
    .min(3)
    .max(12),
  site: z.url().max(40),
  code: z.string().startsWith("X").endsWith("9").max(6),
});

const definitions: ToolDefinition[] = [{ name: "save", description: undefined, parameters: z.toJSONSchema(Contact) as Record<string, unknown>, strict: true }];

function readBack(syntax: ToolCallSyntax, text: string): unknown[] {
  const parser = createToolCallParser(syntax, { parameterTypes: parameterTypesOf(definitions) });
  const args: string[] = [];
  for (const part of [...parser.push(text), ...parser.finish()]) {
    if (part.kind === "call") args.push("");
    else if (part.kind !== "content") args[part.index] += part.text;
  }
  return args.map((a) => JSON.parse(a));
}

describe("raw string values: format, pattern and length together", () => {
  for (const family of [qwen3CoderFamily, glm45Family, gemma4Family, lfm2Family]) {
    test(family.syntax.family, async () => {
      const { gbnf, warnings } = toolGrammar({ syntax: family.syntax, tools: { definitions, choice: { kind: "function", name: "save" }, parallel: false, legacy: false } });
      assert.deepEqual(warnings, []);
      const compiled = await llama.createGrammar({ grammar: gbnf });
      const sample = gbnfSampler(gbnf, { softLength: 400 });
      for (let seed = 1; seed <= 60; seed++) {
        const text = sample(seed);
        if (seed <= 10) assert.ok(accepts(compiled, text), `the sampler left llama.cpp's grammar: ${text}`);
        const calls = readBack(family.syntax, text);
        assert.equal(calls.length, 1, text);
        const check = Contact.safeParse(calls[0]);
        assert.ok(check.success, `${text}\n→ ${JSON.stringify(calls[0])}: ${check.error?.issues[0]?.message}`);
      }
    });
  }
});
