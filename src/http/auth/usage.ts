/**
 * The usage summary behind `GET /admin/usage`: per user and model, since the process started,
 * requests admitted and the tokens of their `usage`. Users are bounded by the configured keys
 * (`anonymous` on an open server) and models by those the router serves.
 */

export interface UsageRow {
  readonly user: string;
  readonly model: string;
  readonly requests: number;
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
}

interface Tally {
  requests: number;
  promptTokens: number;
  completionTokens: number;
}

export class UsageSummary {
  readonly since = new Date();
  readonly #tallies = new Map<string, Map<string, Tally>>();

  /** A request for `model` by `user` was admitted. */
  request(user: string, model: string): void {
    this.#tally(user, model).requests++;
  }

  /** A request's usage (its `usage` event). */
  tokens(user: string, model: string, promptTokens: number, completionTokens: number): void {
    const tally = this.#tally(user, model);
    tally.promptTokens += promptTokens;
    tally.completionTokens += completionTokens;
  }

  /** Every (user, model) pair seen, sorted by user then model. */
  rows(): UsageRow[] {
    const rows: UsageRow[] = [];
    for (const [user, models] of this.#tallies) {
      for (const [model, t] of models) rows.push({ user, model, requests: t.requests, prompt_tokens: t.promptTokens, completion_tokens: t.completionTokens });
    }
    return rows.sort((a, b) => (a.user === b.user ? (a.model < b.model ? -1 : 1) : a.user < b.user ? -1 : 1));
  }

  #tally(user: string, model: string): Tally {
    let models = this.#tallies.get(user);
    if (models === undefined) {
      models = new Map();
      this.#tallies.set(user, models);
    }
    let tally = models.get(model);
    if (tally === undefined) {
      tally = { requests: 0, promptTokens: 0, completionTokens: 0 };
      models.set(model, tally);
    }
    return tally;
  }
}
