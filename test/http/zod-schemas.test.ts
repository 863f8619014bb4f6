/**
 * The openai SDK's zod helpers end to end against the random test model: a schema full of zod's
 * format + pattern (+ maxLength) strings goes out as `response_format` through
 * `client.chat.completions.parse(zodResponseFormat(...))` and as a tool's `parameters` through
 * `zodFunction` with a named `tool_choice`; the SDK's parsed result must pass zod's own
 * validation. (Before string-constraints.ts, the first was a 400 and the second dropped the
 * patterns beside the formats.)
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { zodFunction, zodResponseFormat } from "openai/helpers/zod";
import { z } from "zod";
import { MODEL, startTestServer, type TestServer } from "../support/server.ts";

const Contact = z.object({
  id: z.uuid(),
  email: z.email().max(32),
  born: z.iso.date(),
  seen: z.iso.datetime(),
  handle: z
    .string()
    .regex(/^@[a-z0-9_]+$/)
    .max(12),
  friends: z.array(z.uuidv4()).max(2),
});

const SEEDS = [1, 2, 3, 4, 5, 6];

describe("zod schemas through the openai SDK's helpers", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(["--ctx-size", "2048"]);
  });
  after(() => t.close());

  const messages = [{ role: "user" as const, content: "Make up a contact." }];

  it("chat.completions.parse with zodResponseFormat: the parsed object passes zod", async (ctx) => {
    let complete = 0;
    for (const seed of SEEDS) {
      const request = { model: MODEL, messages, max_tokens: 400, temperature: 1, seed, response_format: zodResponseFormat(Contact, "contact") };
      let completion;
      try {
        completion = await t.client.chat.completions.parse(request);
      } catch (error) {
        // The random model may run out of tokens: the SDK refuses to parse a cut output.
        if (error instanceof Error && error.constructor.name === "LengthFinishReasonError") continue;
        throw error;
      }
      const parsed = completion.choices[0]?.message.parsed;
      assert.ok(parsed !== null && parsed !== undefined, `seed ${seed}: nothing parsed`);
      const check = Contact.safeParse(parsed);
      assert.ok(check.success, `seed ${seed}: ${JSON.stringify(parsed)}: ${check.error?.issues[0]?.message}`);
      complete++;
    }
    ctx.diagnostic(`${complete} of ${SEEDS.length} outputs completed and passed zod`);
    assert.ok(complete >= 3, `only ${complete} of ${SEEDS.length} outputs completed`);
  });

  it("the same schema as a tool's parameters, tool_choice named: the parsed arguments pass zod", async (ctx) => {
    const tool = zodFunction({ name: "save_contact", parameters: Contact });
    let complete = 0;
    for (const seed of SEEDS) {
      const completion = await t.client.chat.completions
        .parse({
          model: MODEL,
          messages,
          max_tokens: 400,
          temperature: 1,
          seed,
          tools: [tool],
          tool_choice: { type: "function", function: { name: "save_contact" } },
        })
        .catch((error: unknown) => {
          if (error instanceof Error && error.constructor.name === "LengthFinishReasonError") return undefined;
          throw error;
        });
      if (completion === undefined) continue;
      const call = completion.choices[0]?.message.tool_calls?.[0];
      assert.ok(call?.type === "function" && call.function.name === "save_contact", `seed ${seed}: no call`);
      const check = Contact.safeParse(call.function.parsed_arguments);
      assert.ok(check.success, `seed ${seed}: ${call.function.arguments}: ${check.error?.issues[0]?.message}`);
      complete++;
    }
    ctx.diagnostic(`${complete} of ${SEEDS.length} calls completed and passed zod`);
    assert.ok(complete >= 3, `only ${complete} of ${SEEDS.length} calls completed`);
  });
});
