/**
 * `--lora <id>=<path.gguf>[:scale]`: a LoRA adapter registered at start, which requests select
 * with `peft: "<id>"`. The scale (default 1) multiplies the adapter's effect.
 */

export interface LoraSpec {
  /** What requests send in `peft`. */
  readonly id: string;
  /** Local path of the adapter GGUF. */
  readonly path: string;
  /** Strength of the adapter (default 1). */
  readonly scale: number;
}

const SPEC = /^([A-Za-z0-9][A-Za-z0-9._/-]{0,127})=(.+?)(?::(-?\d+(?:\.\d+)?))?$/;

/** Parses one `--lora` value; throws an Error with a readable message. */
export function parseLoraSpec(value: string): LoraSpec {
  const match = SPEC.exec(value);
  if (match === null || match[1] === undefined || match[2] === undefined) {
    throw new Error(`"${value}" is not <id>=<path.gguf>[:scale] (ids: letters, digits, . _ / -)`);
  }
  const scale = match[3] === undefined ? 1 : Number(match[3]);
  return { id: match[1], path: match[2], scale };
}

/** Parses every `--lora` value; ids must be unique. */
export function parseLoraSpecs(values: readonly string[]): LoraSpec[] {
  const specs = values.map(parseLoraSpec);
  const seen = new Set<string>();
  for (const spec of specs) {
    if (seen.has(spec.id)) throw new Error(`the adapter id "${spec.id}" is registered twice`);
    seen.add(spec.id);
  }
  return specs;
}
