/**
 * The `parley` command. Only argument handling lives here:
 *   parley serve [options]            serve the OpenAI-compatible API (see --help)
 *   parley make-test-model <out.gguf> [--size tiny|25m|100m] [--tokenizer qwen3|llama3_1]
 *                          [--pooling mean|cls|last]
 *                                     write the built-in random-weight test model, or one with a
 *                                     real model's tokenizer (devDependencies; real-tokenizer-model.ts),
 *                                     or the pooled (embedding) test model
 */
import { parseArgs } from "node:util";
import { ConfigFileError, loadServeConfig } from "./config/config-file.ts";
import { serveHelp } from "./config/config.ts";
import { startServer } from "./server.ts";
import { exitOnUnhandledRejection } from "./util/fatal-rejections.ts";
import { TEST_MODEL_SIZES, writeTestModel, type TestModelPooling, type TestModelSize } from "./testing/test-model.ts";

const SIZES = Object.keys(TEST_MODEL_SIZES);
const POOLINGS: readonly TestModelPooling[] = ["mean", "cls", "last"];

const USAGE = `Usage:
  parley serve [options]             Serve the OpenAI-compatible API (parley serve --help)
  parley make-test-model <out.gguf> [--size ${SIZES.join("|")}] [--tokenizer qwen3|llama3_1]
                                     Write Parley's random-weight test model (default: tiny;
                                     25m and 100m are Q8_0 models for benchmarks); --tokenizer
                                     gives it a real model's vocabulary and chat template (from
                                     npm devDependencies; tiny weights, --size ignored)
                                     [--pooling ${POOLINGS.join("|")}] writes an embedding model
                                     (llama.pooling_type set: served as one without kind)
`;

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "serve":
      return serve(rest);
    case "make-test-model":
      return makeTestModel(rest);
    case "--help":
    case "-h":
    case "help":
    case undefined:
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`Unknown command: ${command}\n${USAGE}`);
      return 2;
  }
}

async function makeTestModel(args: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], allowPositionals: true, options: { size: { type: "string", default: "tiny" }, tokenizer: { type: "string" }, pooling: { type: "string" } } });
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  const [out, ...extra] = parsed.positionals;
  const size = parsed.values.size;
  const pooling = parsed.values.pooling;
  if (out === undefined || extra.length > 0 || !SIZES.includes(size) || (pooling !== undefined && !(POOLINGS as string[]).includes(pooling))) {
    process.stderr.write(USAGE);
    return 2;
  }
  const tokenizer = parsed.values.tokenizer;
  if (tokenizer !== undefined && pooling !== undefined) {
    process.stderr.write("--pooling writes the built-in test model; it does not combine with --tokenizer\n");
    return 2;
  }
  if (tokenizer !== undefined) {
    // loaded only here: it needs devDependencies, and `serve` should not pay for it
    const real = await import("./testing/real-tokenizer-model.ts");
    if (!(real.REAL_TOKENIZER_FAMILY_NAMES as string[]).includes(tokenizer)) {
      process.stderr.write(`unknown --tokenizer "${tokenizer}" (${real.REAL_TOKENIZER_FAMILY_NAMES.join(", ")})\n`);
      return 2;
    }
    await real.writeRealTokenizerModel(out, tokenizer as (typeof real.REAL_TOKENIZER_FAMILY_NAMES)[number]);
    process.stdout.write(`wrote ${out}\n`);
    return 0;
  }
  await writeTestModel(out, { size: size as TestModelSize, pooling: pooling as TestModelPooling | undefined });
  process.stdout.write(`wrote ${out}\n`);
  return 0;
}

const TEST_MODEL_BANNER = `
  ┌───────────────────────────────────────────────────────────────────────┐
  │ Serving Parley's built-in TEST model: tiny, with random weights.      │
  │ Its answers are gibberish; it exists so Parley runs without download. │
  │ Serve a real model:  npm start -- --model path/to/model.gguf          │
  │                 or:  npm start -- --model hf:owner/repo/file.gguf     │
  └───────────────────────────────────────────────────────────────────────┘
`;

async function serve(args: readonly string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    process.stdout.write(serveHelp());
    return 0;
  }
  let config;
  try {
    config = loadServeConfig(args);
  } catch (error) {
    // A config file's errors point at its lines; the flags' help would only bury them.
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${error instanceof ConfigFileError ? "" : `\n${serveHelp()}`}`);
    return 2;
  }
  const server = await startServer(config.config, config.file);
  // A rejection nobody handled is a bug: logged with its stack, then a graceful close and exit 1
  // (util/fatal-rejections.ts). Expected failures are handled where they arise, never here.
  exitOnUnhandledRejection({
    log: (reason) => server.app.log.fatal({ err: reason }, "unhandled promise rejection (a bug): closing the server, then exiting with status 1"),
    close: () => server.close(),
    closeTimeoutMs: (config.config.shutdownTimeout + 5) * 1000,
  });
  if (server.usingTestModel) process.stderr.write(TEST_MODEL_BANNER);
  server.ready.catch((error: unknown) => {
    server.app.log.fatal({ err: error }, "could not load the model");
    void server.close().finally(() => process.exit(1));
  });
  const shutdown = (signal: string) => {
    server.app.log.info(`${signal} received: finishing running requests, then exiting`);
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        server.app.log.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", () => shutdown("SIGINT"));
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  return -1; // keep running
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
