/**
 * Output constraints compiled to llama.cpp grammars, cached per distinct constraint (least
 * recently used first out): repeated requests with the same schema, regex or choice list pay the
 * conversion and compile cost once.
 */
import type { Llama, LlamaGrammar } from "node-llama-cpp";
import { constraintGrammar } from "../../chat/grammar/constraint-grammar.ts";
import type { OutputConstraint } from "../../domain/chat.ts";
import { invalidRequest } from "../../domain/errors.ts";

export interface CompiledConstraint {
  readonly grammar: LlamaGrammar;
  /** Ignored schema keywords and the like, for the client. */
  readonly warnings: readonly string[];
}

export class GrammarCache {
  readonly #llama: Llama;
  readonly #capacity: number;
  readonly #entries = new Map<string, Promise<CompiledConstraint>>();

  /** @param capacity distinct constraints kept (default 64). */
  constructor(llama: Llama, capacity = 64) {
    this.#llama = llama;
    this.#capacity = capacity;
  }

  /** The compiled constraint; one that cannot be enforced is a 400 naming its field. */
  async get(constraint: OutputConstraint, whitespacePattern: string | undefined): Promise<CompiledConstraint> {
    // What determines the grammar: the constraint without its field name, and whitespace for JSON.
    const { field: _field, ...essence } = constraint;
    const key = JSON.stringify([essence, constraint.kind === "json" ? (whitespacePattern ?? null) : null]);
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      const { gbnf, warnings } = constraintGrammar(constraint, whitespacePattern); // throws 400s
      entry = this.#llama.createGrammar({ grammar: gbnf }).then(
        (grammar) => ({ grammar, warnings }),
        (error: unknown) => {
          this.#entries.delete(key);
          throw invalidRequest(`\`${constraint.field}\` is not a valid llama.cpp GBNF grammar: ${(error as Error).message}.`, constraint.field.split("."));
        },
      );
    } else {
      this.#entries.delete(key); // re-inserted below as the most recently used
    }
    this.#entries.set(key, entry);
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.#capacity) break;
      this.#entries.delete(oldest);
    }
    return entry;
  }
}
