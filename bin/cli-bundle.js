// Parley's CLI as one pre-bundled JavaScript file, cached, so `parley` starts without pushing ~150
// TypeScript modules and every module they import (some 1,500 files) through tsx's loader thread,
// which costs about a second on a small machine. esbuild bundles src/ (packages stay external,
// loaded from node_modules as usual) into node_modules/.cache/parley/cli-<hash>/, once per version
// of the sources: a start checks the content hashes of the files in the last bundle and rebuilds
// (~0.4 s) when one changed. Each file keeps its own `import.meta.url`, so the worker and task
// files it points at are found where they are. Source maps keep stack traces pointing into src/.
//
// Entries: `cli.js` (src/cli.ts) and `runtime.js` (src/engines/llama/llama-runtime.ts), split so
// that both share one instance of the runtime. Returns undefined when bundling is off
// (PARLEY_NO_BUNDLE=1) or fails; the caller then runs the sources through tsx.
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const CACHE = join(ROOT, "node_modules", ".cache", "parley");
const LATEST = join(CACHE, "cli-latest.json");
/** Bump when the build options below change. */
const FORMAT = 1;
/** Older bundles are removed this long after they were built (a running process may still load a chunk). */
const KEEP_OLD_MS = 60 * 60 * 1000;

/** What a bundle was built from: the node version, this format, and each input's content hash. */
function stamp(inputs) {
  return { node: process.version, format: FORMAT, inputs };
}

function hashFile(path) {
  return createHash("sha1").update(readFileSync(path)).digest("hex");
}

/** The cached bundle, if every file it was built from is unchanged. */
function cached() {
  try {
    const latest = JSON.parse(readFileSync(LATEST, "utf8"));
    if (latest.node !== process.version || latest.format !== FORMAT) return undefined;
    for (const [file, hash] of Object.entries(latest.inputs)) if (hashFile(join(ROOT, file)) !== hash) return undefined;
    readFileSync(join(CACHE, latest.dir, "cli.js"), { flag: "r" }); // still there
    return join(CACHE, latest.dir);
  } catch {
    return undefined;
  }
}

/** esbuild plugin: `import.meta.url` of each source file stays that file's own URL. */
const keepImportMetaUrl = {
  name: "parley-keep-import-meta-url",
  setup(build) {
    build.onLoad({ filter: /[\\/]src[\\/].*\.(ts|js)$/ }, (args) => ({
      contents: readFileSync(args.path, "utf8").replaceAll("import.meta.url", JSON.stringify(pathToFileURL(args.path).href)),
      loader: args.path.endsWith(".ts") ? "ts" : "js",
    }));
  },
};

async function rebuild() {
  const { build } = await import("esbuild");
  mkdirSync(CACHE, { recursive: true });
  const temp = join(CACHE, `tmp-${process.pid}-${randomBytes(4).toString("hex")}`);
  try {
    const result = await build({
      absWorkingDir: ROOT,
      entryPoints: { cli: "src/cli.ts", runtime: "src/engines/llama/llama-runtime.ts" },
      outdir: temp,
      bundle: true,
      splitting: true,
      format: "esm",
      platform: "node",
      target: `node${process.versions.node.split(".")[0]}`,
      packages: "external",
      sourcemap: "linked",
      metafile: true,
      logLevel: "silent",
      plugins: [keepImportMetaUrl],
    });
    const inputs = {};
    for (const file of Object.keys(result.metafile.inputs).sort()) inputs[file] = hashFile(join(ROOT, file));
    const info = stamp(inputs);
    const dir = `cli-${createHash("sha1").update(JSON.stringify(info)).digest("hex").slice(0, 16)}`;
    try {
      renameSync(temp, join(CACHE, dir));
    } catch (error) {
      // another process built the same bundle first: use theirs (anything else: run through tsx)
      if (!existsSync(join(CACHE, dir, "cli.js"))) throw error;
    }
    const latestTemp = `${LATEST}.${process.pid}.tmp`;
    writeFileSync(latestTemp, JSON.stringify({ ...info, dir }));
    renameSync(latestTemp, LATEST);
    prune(dir);
    return join(CACHE, dir);
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}

function prune(keep) {
  for (const name of readdirSync(CACHE)) {
    if (!name.startsWith("cli-") || name === keep || name.endsWith(".json") || name.endsWith(".tmp")) continue;
    try {
      if (Date.now() - statSync(join(CACHE, name)).mtimeMs > KEEP_OLD_MS) rmSync(join(CACHE, name), { recursive: true, force: true });
    } catch {
      // another process pruned it
    }
  }
}

/** URLs of the bundle's entries, building it when the sources changed; undefined: use tsx. */
export async function cliBundle() {
  if (process.env.PARLEY_NO_BUNDLE === "1") return undefined;
  try {
    const dir = cached() ?? (await rebuild());
    return { cli: pathToFileURL(join(dir, "cli.js")).href, runtime: pathToFileURL(join(dir, "runtime.js")).href };
  } catch {
    return undefined; // e.g. a read-only install or a syntax error: tsx reports the latter properly
  }
}
