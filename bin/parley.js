#!/usr/bin/env node
// Entry point for the `parley` command. It runs the CLI from a cached bundle of src/ (cli-bundle.js;
// much faster to start than the sources through tsx), or through the TypeScript loader (tsx) when
// bundling is off or fails. `parley serve` first starts loading the llama.cpp binding
// (src/engines/llama/llama-runtime.ts): node-llama-cpp checks the binary in a child process, which
// then runs while the server's modules load instead of after them, with the GPU backend of `--gpu`
// or PARLEY_GPU (a config file's `gpu` is read later; llama-runtime.ts restarts the binding then).
import { cliBundle } from "./cli-bundle.js";

const bundle = await cliBundle();
let entries = bundle;
if (bundle === undefined) {
  const { register } = await import("tsx/esm/api");
  register();
  entries = { cli: "../src/cli.ts", runtime: "../src/engines/llama/llama-runtime.ts" };
}
const [command, ...rest] = process.argv.slice(2);
if (command === "serve" && !rest.includes("--help") && !rest.includes("-h")) {
  // Loaded before the CLI, whose module graph would otherwise be evaluated first. A failure here
  // is reported again, with context, when the model loads.
  const runtime = await import(entries.runtime);
  runtime.prepareLlama(gpuBackend(rest)).catch(() => undefined);
}
// Stack traces point into src/ (enabled only now: node-llama-cpp's own maps cost ~0.1 s to read).
if (bundle !== undefined) process.setSourceMapsEnabled(true);
await import(entries.cli);

/** `--gpu <backend>`, `--gpu=<backend>` or PARLEY_GPU when it names a backend (the flag wins); else undefined. */
function gpuBackend(args) {
  let value = process.env.PARLEY_GPU;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--") break;
    if (args[i] === "--gpu") value = args[i + 1];
    else if (args[i].startsWith("--gpu=")) value = args[i].slice("--gpu=".length);
  }
  return ["auto", "cuda", "vulkan", "metal", "false"].includes(value) ? value : undefined;
}
