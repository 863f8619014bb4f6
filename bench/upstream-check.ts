/**
 * `npm run check:upstream -- --url http://127.0.0.1:8081` checks a real upstream server (built for
 * llama.cpp's server; any OpenAI-compatible server works) through a front Parley in this process:
 * the dialect it is probed as, and, for each constraint and sampling extension, that what comes
 * back honours it (or that Parley refused it with a 400 naming the field). Not part of `npm test`:
 * it needs a running server. `--direct` also sends `guided_regex` straight to the server, to show
 * what a client gets without translation. Exits 1 when a check fails.
 *
 * Options: --url <server root or …/v1> (required) --model <its model name> (default: the first it
 * lists) --expect <dialect> (default llama-server) --direct.
 */
import { buildApp } from "../src/app.ts";
import { UpstreamEngine } from "../src/engines/upstream/engine.ts";
import { isUpstreamDialect } from "../src/engines/upstream/dialect.ts";
import { Router } from "../src/router/router.ts";

interface Check {
  readonly name: string;
  readonly body: Record<string, unknown>;
  /** Given the answer's status and content, why it failed (undefined: passed). */
  readonly verify: (status: number, content: string, param: string | null) => string | undefined;
}

const user = (content: string) => [{ role: "user", content }];
const matches = (re: RegExp) => (status: number, content: string) => (status !== 200 ? `HTTP ${status}` : re.test(content) ? undefined : `${JSON.stringify(content)} does not match ${re}`);

const CHECKS: readonly Check[] = [
  { name: "guided_regex", body: { messages: user("Give me a code."), guided_regex: "[0-9]{3}-[a-z]{2}", max_tokens: 16 }, verify: matches(/^[0-9]{3}-[a-z]{2}$/) },
  { name: "structured_outputs.regex", body: { messages: user("A word?"), structured_outputs: { regex: "(cat|dog)s?" }, max_tokens: 8 }, verify: matches(/^(cat|dog)s?$/) },
  { name: "guided_choice", body: { messages: user("Pick a colour."), guided_choice: ["red", "green", "light blue"], max_tokens: 8 }, verify: matches(/^(red|green|light blue)$/) },
  { name: "guided_grammar", body: { messages: user("Yes or no?"), guided_grammar: 'root ::= ("yes" | "no") "!"', max_tokens: 8 }, verify: matches(/^(yes|no)!$/) },
  {
    name: "response_format json_schema",
    body: {
      messages: user("A person as JSON."),
      max_tokens: 128,
      response_format: {
        type: "json_schema",
        json_schema: {
          name: "p",
          strict: true,
          schema: { type: "object", properties: { name: { type: "string", maxLength: 12 }, age: { type: "integer" } }, required: ["name", "age"], additionalProperties: false },
        },
      },
    },
    verify: (status, content) => {
      if (status !== 200) return `HTTP ${status}`;
      try {
        const value = JSON.parse(content) as { name?: unknown; age?: unknown };
        return typeof value.name === "string" && Number.isInteger(value.age) && Object.keys(value).length === 2 ? undefined : `wrong shape: ${content}`;
      } catch {
        return `not JSON: ${JSON.stringify(content)}`;
      }
    },
  },
  {
    name: "top_k, min_p, repetition_penalty",
    body: { messages: user("Hello"), top_k: 5, min_p: 0.05, repetition_penalty: 1.1, max_tokens: 8 },
    verify: (status) => (status === 200 ? undefined : `HTTP ${status}`),
  },
  {
    name: "stop_token_ids (refused for llama-server)",
    body: { messages: user("Hello"), stop_token_ids: [2], max_tokens: 4 },
    verify: (status, _c, param) => (status === 400 && param === "stop_token_ids" ? undefined : `expected a 400 naming stop_token_ids, got HTTP ${status}`),
  },
];

/** The probe's log lines, as plain text. */
const say = (obj: object | string, msg?: string) => console.log(`LOG ${msg ?? (typeof obj === "string" ? obj : JSON.stringify(obj))}`);
const LOG = { debug: say, info: say, warn: say, error: say };

function option(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? undefined : args[i + 1];
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const url = option(args, "url");
  if (url === undefined) throw new Error("usage: npm run check:upstream -- --url http://127.0.0.1:8081 [--model m] [--expect llama-server] [--direct]");
  const base = /\/v1\/?$/.test(url) ? url.replace(/\/+$/, "") : `${url.replace(/\/+$/, "")}/v1`;
  const expect = option(args, "expect") ?? "llama-server";
  const listed = (await (await fetch(`${base}/models`)).json()) as { data?: { id: string }[] };
  const model = option(args, "model") ?? listed.data?.[0]?.id;
  if (model === undefined) throw new Error(`${base}/models lists no model: pass --model`);
  const engine = new UpstreamEngine({ id: "checked", model, baseUrls: [base], healthIntervalMs: 60_000 }, { logger: () => LOG });
  const app = buildApp({ router: new Router([engine]) });
  const front = await app.listen({ host: "127.0.0.1", port: 0 });
  let failed = 0;
  try {
    const dialect = await engine.dialect();
    const dialectOk = !isUpstreamDialect(expect) || dialect === expect;
    if (!dialectOk) failed++;
    console.log(`${dialectOk ? "PASS" : "FAIL"} probed dialect: ${dialect} (expected ${expect})`);
    for (const check of CHECKS) {
      if (check.name.includes("refused for llama-server") && dialect !== "llama-server") continue;
      for (const stream of [false, true]) {
        const res = await fetch(`${front}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: "checked", temperature: 0.8, seed: 3, ...check.body, stream }),
        });
        const { content, param } = await answer(res, stream);
        const why = check.verify(res.status, content, param);
        if (why !== undefined) failed++;
        console.log(`${why === undefined ? "PASS" : "FAIL"} ${check.name}${stream ? " (streamed)" : ""}${why === undefined ? `: ${JSON.stringify(content.slice(0, 60))}` : `: ${why}`}`);
      }
    }
    if (args.includes("--direct")) {
      const res = await fetch(`${base}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model, messages: user("Give me a code."), guided_regex: "[0-9]{3}-[a-z]{2}", max_tokens: 16, seed: 3 }),
      });
      const { content } = await answer(res, false);
      console.log(`INFO guided_regex sent straight to the server: HTTP ${res.status}, ${/^[0-9]{3}-[a-z]{2}$/.test(content) ? "matches" : "does NOT match"}: ${JSON.stringify(content.slice(0, 60))}`);
    }
  } finally {
    await engine.close(0);
    await app.close();
  }
  console.log(failed === 0 ? "all checks passed" : `${failed} check(s) failed`);
  return failed === 0 ? 0 : 1;
}

/** The first choice's content (streamed: the deltas joined) and an error's `param`. */
async function answer(res: Response, stream: boolean): Promise<{ content: string; param: string | null }> {
  const text = await res.text();
  if (res.status !== 200) {
    const parsed = JSON.parse(text) as { error?: { param?: string | null } };
    return { content: text, param: parsed.error?.param ?? null };
  }
  if (!stream) return { content: (JSON.parse(text) as { choices: { message: { content: string | null } }[] }).choices[0]?.message.content ?? "", param: null };
  let content = "";
  for (const frame of text.split("\n\n")) {
    const data = frame.replace(/^data: /, "");
    if (data === "" || data === "[DONE]") continue;
    const chunk = JSON.parse(data) as { choices?: { delta?: { content?: string } }[]; error?: { message: string } };
    if (chunk.error !== undefined) throw new Error(`stream error: ${chunk.error.message}`);
    content += chunk.choices?.[0]?.delta?.content ?? "";
  }
  return { content, param: null };
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
