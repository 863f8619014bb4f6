/**
 * An upstream's capabilities, read off its dialect's translation table (dialect-table.ts,
 * dialect-constraints.ts) so the two cannot disagree: what the dialect forwards is a capability,
 * what it refuses for every value is not. Finer points (a field refused for one value, a
 * constraint with tools on llama.cpp's server) stay with the translation, which refuses them up
 * front with a 400 naming the field. The config's `unsupported` fields with mode `reject` are
 * refused by the capability check, under the client's names.
 */
import { ALL_CONSTRAINTS, embeddingCapabilities, type EngineCapabilities, type ExtensionField } from "../../domain/capabilities.ts";
import { DIALECT_EXTENSIONS, FIELD_TABLE } from "./dialect-table.ts";
import { UPSTREAM_DIALECTS, type UpstreamDialect } from "./dialect.ts";
import type { UpstreamModelOptions } from "./options.ts";
import { forwardsSuffix } from "./text-dialect-table.ts";

/** Whether the dialect forwards `field` in some form (sent, renamed or rewritten). */
function forwards(field: string, dialect: UpstreamDialect): boolean {
  const rule = FIELD_TABLE[field]?.[dialect];
  return rule !== undefined && rule.kind !== "reject";
}

export function upstreamCapabilities(dialect: UpstreamDialect, options: Pick<UpstreamModelOptions, "id" | "unsupported" | "kind">): EngineCapabilities {
  if (options.kind === "embedding") return upstreamEmbeddingCapabilities(options.id);
  const unsupported = options.unsupported;
  return {
    servedBy: `the upstream serving model \`${options.id}\` (dialect \`${dialect}\`)`,
    // OpenAI enforces JSON Schemas only; every other dialect each kind (dialect-constraints.ts).
    constraints: dialect === "openai" ? new Set(["json"]) : ALL_CONSTRAINTS,
    tools: true,
    logprobs: forwards("logprobs", dialect) ? { maxTop: 20 } : false,
    promptLogprobs: forwards("prompt_logprobs", dialect),
    // vLLM takes `best_of` with beams only (its beam width).
    bestOf: FIELD_TABLE.best_of?.[dialect].kind === "send",
    // Beams as Parley's own: combined with nothing that steers or cuts them (vLLM's beam search ignores those fields).
    beamSearch: forwards("use_beam_search", dialect) ? { combinesWith: new Set() } : false,
    adapters: forwards("peft", dialect),
    reasoningControl: forwards("reasoning_effort", dialect) || forwards("thinking_token_budget", dialect),
    // Every dialect serves `/completions`; `suffix` goes where the dialect reads it (text-dialect-table.ts).
    textPrompts: true,
    fillInTheMiddle: forwardsSuffix(dialect),
    embeddings: false,
    extensions: new Set(Object.keys(DIALECT_EXTENSIONS[dialect]) as ExtensionField[]),
    refusedFields: new Set(unsupported?.mode === "reject" ? unsupported.fields : []),
  };
}

/** What some dialect forwards: the union of every dialect's capabilities (the dialect not known yet). */
export function anyDialectCapabilities(options: Pick<UpstreamModelOptions, "id" | "unsupported" | "kind">): EngineCapabilities {
  if (options.kind === "embedding") return upstreamEmbeddingCapabilities(options.id);
  const all = UPSTREAM_DIALECTS.map((dialect) => upstreamCapabilities(dialect, options));
  const some = (read: (c: EngineCapabilities) => boolean) => all.some(read);
  const first = all[0] as EngineCapabilities;
  return {
    ...first,
    servedBy: `the upstream serving model \`${options.id}\` (dialect not known yet)`,
    constraints: new Set(all.flatMap((c) => [...c.constraints])),
    tools: some((c) => c.tools),
    logprobs: some((c) => c.logprobs !== false) ? { maxTop: Math.max(...all.map((c) => (c.logprobs === false ? 0 : c.logprobs.maxTop))) } : false,
    promptLogprobs: some((c) => c.promptLogprobs),
    bestOf: some((c) => c.bestOf),
    beamSearch: all.find((c) => c.beamSearch !== false)?.beamSearch ?? false,
    adapters: some((c) => c.adapters),
    reasoningControl: some((c) => c.reasoningControl),
    textPrompts: some((c) => c.textPrompts),
    fillInTheMiddle: some((c) => c.fillInTheMiddle),
    extensions: new Set(all.flatMap((c) => [...c.extensions])),
  };
}

/** An upstream embedding model (`kind: embedding`): `/v1/embeddings` only, forwarded to the upstream's `/embeddings`. */
function upstreamEmbeddingCapabilities(id: string): EngineCapabilities {
  return embeddingCapabilities(`the upstream serving the embedding model \`${id}\``);
}

/** An upstream's capabilities per dialect, each built once (its options never change). */
export class CapabilitiesByDialect {
  readonly #options: Pick<UpstreamModelOptions, "id" | "unsupported" | "kind">;
  readonly #built = new Map<UpstreamDialect | "any", EngineCapabilities>();

  constructor(options: Pick<UpstreamModelOptions, "id" | "unsupported" | "kind">) {
    this.#options = options;
  }

  /** `dialect`'s, or while it is not known for good (undefined) what any dialect forwards. */
  of(dialect: UpstreamDialect | undefined): EngineCapabilities {
    const key = dialect ?? "any";
    let capabilities = this.#built.get(key);
    if (capabilities === undefined) {
      capabilities = dialect === undefined ? anyDialectCapabilities(this.#options) : upstreamCapabilities(dialect, this.#options);
      this.#built.set(key, capabilities);
    }
    return capabilities;
  }
}
