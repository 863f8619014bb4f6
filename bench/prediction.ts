/**
 * `npm run bench:prediction`: speculative decoding on an edit workload (OpenAI's Predicted
 * Outputs). A random-weight model makes acceptance meaningless for free text, so the workload uses
 * text the model produces anyway: the answer to a rewrite request is first generated greedily
 * (`ignore_eos`, `--max-tokens` tokens), then sent again as `prediction`, with a few small edits
 * (words replaced, a phrase inserted, one removed) and exact. Greedy decoding makes every answer
 * identical to the first (checked), so the only difference is speed.
 *
 * Printed per prediction and concurrency level: completion tokens per wall second without and with
 * the prediction, the speed-up, and the acceptance: accepted / completion tokens (the share of the
 * output that came from the prediction) and accepted / drafted (the share of drafted tokens kept).
 * Then the engine alone on token ids (bench/draft-engine.ts): a random model's output does not
 * tokenize back to its own tokens everywhere, which a text prediction cannot survive; a real model's
 * output does, which that run stands for.
 *
 * Options: --model <gguf> (default: the built-in 25m test model) --threads 1 --parallel 4
 * --max-tokens 300 --requests 8 --concurrency 1,4.
 */
import { cpus } from "node:os";
import { loadConfig } from "../src/config/config.ts";
import { startServer } from "../src/server.ts";
import { ensureTestModel } from "../src/testing/test-model.ts";
import { runDraftEngine } from "./draft-engine.ts";

interface Options {
  model: string | undefined;
  threads: number;
  parallel: number;
  maxTokens: number;
  requests: number;
  concurrency: number[];
}

function parseOptions(args: readonly string[]): Options {
  const options: Options = { model: undefined, threads: 1, parallel: 4, maxTokens: 300, requests: 8, concurrency: [1, 4] };
  for (let i = 0; i < args.length; i += 2) {
    const flag = args[i];
    const value = args[i + 1] ?? "";
    if (flag === "--model") options.model = value;
    else if (flag === "--threads") options.threads = Number(value);
    else if (flag === "--parallel") options.parallel = Number(value);
    else if (flag === "--max-tokens") options.maxTokens = Number(value);
    else if (flag === "--requests") options.requests = Number(value);
    else if (flag === "--concurrency") options.concurrency = value.split(",").map(Number);
    else throw new Error(`unknown option ${flag}`);
  }
  return options;
}

interface Answer {
  readonly text: string;
  readonly completionTokens: number;
  readonly accepted: number;
  readonly rejected: number;
}

/** A few small edits, spread over the text: a word replaced, a phrase inserted, a stretch removed. */
export function editText(text: string): string {
  const at = (share: number) => Math.floor(text.length * share);
  return `${text.slice(0, at(0.2))} (as noted)${text.slice(at(0.2), at(0.45))}${text.slice(at(0.5), at(0.75))} and so on${text.slice(at(0.78))}`;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const model = options.model ?? (await ensureTestModel({ model: { size: "25m" } }));
  const flags = [
    "--model",
    model,
    "--port",
    "0",
    "--threads",
    String(options.threads),
    "--parallel",
    String(options.parallel),
    "--ctx-size",
    "2048",
    "--log-level",
    "error",
    "--responses-store",
    "off",
  ];
  const server = await startServer(loadConfig(flags, {}));
  await server.ready;
  const models = (await (await fetch(`${server.url}/v1/models`)).json()) as { data: { id: string }[] };
  const id = models.data[0]?.id ?? "";
  const document = Array.from({ length: 60 }, (_, i) => `Sentence ${i} says the report was filed on time.`).join(" ");
  const ask = async (prediction?: string): Promise<Answer> => {
    const body = {
      model: id,
      messages: [{ role: "user", content: `Rewrite this text with small corrections:\n\n${document}` }],
      max_tokens: options.maxTokens,
      temperature: 0,
      ignore_eos: true,
      ...(prediction === undefined ? {} : { prediction: { type: "content", content: prediction } }),
    };
    const res = await fetch(`${server.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const json = (await res.json()) as {
      choices: { message: { content: string } }[];
      usage: { completion_tokens: number; completion_tokens_details?: { accepted_prediction_tokens?: number; rejected_prediction_tokens?: number } };
    };
    const details = json.usage.completion_tokens_details ?? {};
    return {
      text: json.choices[0]?.message.content ?? "",
      completionTokens: json.usage.completion_tokens,
      accepted: details.accepted_prediction_tokens ?? 0,
      rejected: details.rejected_prediction_tokens ?? 0,
    };
  };
  try {
    const original = await ask();
    const edited = editText(original.text);
    console.log(`machine: ${cpus()[0]?.model ?? "?"} × ${cpus().length}; model ${model}; threads ${options.threads}; parallel ${options.parallel}`);
    console.log(
      `workload: ${original.completionTokens}-token greedy answer; prediction = that answer with 4 small edits (${edited.length} vs ${original.text.length} characters), or the answer itself (exact)`,
    );
    console.log("| prediction | conc | tok/s without | tok/s with prediction | speed-up | accepted / completion | accepted / drafted | outputs identical |");
    console.log("|---|---|---|---|---|---|---|---|");
    for (const [kind, prediction] of [
      ["edited", edited],
      ["exact", original.text],
    ] as const)
      for (const concurrency of options.concurrency) {
        const run = async (withPrediction: boolean) => {
          const answers: Answer[] = [];
          const start = performance.now();
          let next = 0;
          const worker = async () => {
            while (next++ < options.requests) answers.push(await ask(withPrediction ? prediction : undefined));
          };
          await Promise.all(Array.from({ length: concurrency }, worker));
          const seconds = (performance.now() - start) / 1000;
          const tokens = answers.reduce((s, a) => s + a.completionTokens, 0);
          return { answers, tokensPerSecond: tokens / seconds, tokens };
        };
        const without = await run(false);
        const withPrediction = await run(true);
        const accepted = withPrediction.answers.reduce((s, a) => s + a.accepted, 0);
        const drafted = accepted + withPrediction.answers.reduce((s, a) => s + a.rejected, 0);
        const identical = [...without.answers, ...withPrediction.answers].every((a) => a.text === original.text);
        const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
        console.log(
          `| ${kind} | ${concurrency} | ${without.tokensPerSecond.toFixed(1)} | ${withPrediction.tokensPerSecond.toFixed(1)} | ${(withPrediction.tokensPerSecond / without.tokensPerSecond).toFixed(2)}× | ${pct(accepted / withPrediction.tokens)} | ${drafted === 0 ? "—" : pct(accepted / drafted)} | ${identical} |`,
        );
      }
  } finally {
    await server.close();
  }
  const rows = await runDraftEngine({ modelPath: model, prompt: `Rewrite this text with small corrections:\n\n${document}`, tokens: options.maxTokens, threads: options.threads, runs: 2 });
  console.log("\nEngine alone, predictions as the output's own token ids (see bench/draft-engine.ts), one sequence, 2 runs each:");
  console.log("| prediction | tok/s plain | tok/s drafting | speed-up | accepted / completion | accepted / drafted | outputs identical |");
  console.log("|---|---|---|---|---|---|---|");
  for (const row of rows) {
    const total = options.maxTokens * 2;
    const drafted = row.accepted + row.rejected;
    console.log(
      `| ${row.prediction} | ${row.plainTokensPerSecond.toFixed(1)} | ${row.tokensPerSecond.toFixed(1)} | ${(row.tokensPerSecond / row.plainTokensPerSecond).toFixed(2)}× | ${((100 * row.accepted) / total).toFixed(0)}% | ${drafted === 0 ? "—" : `${((100 * row.accepted) / drafted).toFixed(0)}%`} | ${row.identical} |`,
    );
  }
}

await main();
