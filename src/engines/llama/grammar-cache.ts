/**
 * Compiled llama.cpp grammars (output constraints, tool calls), cached per distinct key (least
 * recently used first out): repeated requests with the same schema, regex, choice list or tools
 * pay the conversion and compile cost once.
 */
import type { Llama, LlamaGrammar } from "node-llama-cpp";
import { invalidRequest } from "../../domain/errors.ts";

/** What a request's grammar is made of, before compiling. */
export interface GrammarSource {
  readonly gbnf: string;
  /** Ignored schema keywords and the like, for the client. */
  readonly warnings: readonly string[];
  /** Tool calls count only at the start of the message (see ToolCallParser). */
  readonly anchored?: boolean;
}

export interface CompiledGrammar extends Omit<GrammarSource, "gbnf"> {
  readonly grammar: LlamaGrammar;
}

export interface GrammarRequest {
  /** Identifies the grammar: equal keys must build equal grammars. */
  readonly key: string;
  /** The request field a GBNF the compiler rejects is blamed on (e.g. `guided_grammar`). */
  readonly field: string;
  /** Builds the source; may throw 400s. Called only on a cache miss. */
  readonly build: () => GrammarSource;
}

export class GrammarCache {
  readonly #llama: Llama;
  readonly #capacity: number;
  readonly #entries = new Map<string, Promise<CompiledGrammar>>();

  /** @param capacity distinct grammars kept (default 64). */
  constructor(llama: Llama, capacity = 64) {
    this.#llama = llama;
    this.#capacity = capacity;
  }

  /** The compiled grammar; one that cannot be compiled is a 400 naming its field. */
  async get(request: GrammarRequest): Promise<CompiledGrammar> {
    const { key, field } = request;
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      const { gbnf, ...rest } = request.build(); // throws 400s
      entry = this.#llama.createGrammar({ grammar: gbnf }).then(
        (grammar) => ({ ...rest, grammar }),
        (error: unknown) => {
          this.#entries.delete(key);
          throw invalidRequest(`\`${field}\` is not a valid llama.cpp GBNF grammar: ${(error as Error).message}.`, field.split("."));
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
