/**
 * The Responses API's state in an embedded SQLite database (better-sqlite3, WAL mode): each stored
 * response (its owner, status, request and final `Response` as JSON), the input items it was asked
 * with and the output items it produced (both found by item id, for `item_reference` inputs),
 * and, for background responses, the stream events it produced (so a client can resume a stream
 * with `starting_after`, even after the run ended). Everything survives a restart; what
 * was still running when the process stopped is marked failed on the next open.
 *
 * Ownership is part of every lookup: a response belongs to the API key's user that created it
 * ("" on an open server), and any other owner finds nothing (the routes answer 404). Old
 * responses go first: those older than the retention and, past the size cap, the oldest ones.
 *
 * better-sqlite3 is synchronous: every statement here is small (one row, one indexed range).
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { Response as OpenAIResponse, ResponseItem } from "openai/resources/responses/responses";
import { DEFAULT_RESPONSES_MAX, DEFAULT_RESPONSES_RETENTION_DAYS } from "../config/defaults.ts";

export type ResponseStatus = OpenAIResponse["status"] & string;

export interface ResponseStoreOptions {
  /** Days a stored response is kept (default DEFAULT_RESPONSES_RETENTION_DAYS, 30; 0: forever). */
  readonly retentionDays?: number;
  /** Responses kept at most; past it the oldest are deleted (default DEFAULT_RESPONSES_MAX, 10 000). */
  readonly maxResponses?: number;
  /** The clock, in ms (default `Date.now`; tests pass a fake one). */
  readonly now?: () => number;
}

/** A new response, as the handler records it when the request is accepted. */
export interface NewResponse {
  readonly id: string;
  readonly owner: string;
  readonly model: string;
  readonly status: ResponseStatus;
  /** The request body as sent. */
  readonly request: unknown;
  /** The response as it stands (a background one's queued state), if any yet. */
  readonly response?: OpenAIResponse;
  readonly previousResponseId: string | undefined;
  /** The first response of its `previous_response_id` chain (itself for a new conversation). */
  readonly conversation: string;
  readonly background: boolean;
  /** This request's own input items (not those of earlier responses), each with its id. */
  readonly inputItems: readonly ResponseItem[];
}

/** A stored response's row. */
export interface StoredResponse {
  readonly id: string;
  readonly owner: string;
  readonly createdAt: number;
  readonly status: ResponseStatus;
  readonly model: string;
  readonly request: unknown;
  readonly response: OpenAIResponse | undefined;
  readonly previousResponseId: string | undefined;
  readonly conversation: string;
  readonly background: boolean;
}

/** One recorded stream event of a background response. */
export interface StoredEvent {
  /** Its place in the stream (0, 1, …). */
  readonly position: number;
  /** Its `sequence_number` (what `starting_after` counts). */
  readonly sequence: number;
  readonly event: string | undefined;
  readonly data: unknown;
}

export interface InputItemPage {
  readonly items: readonly ResponseItem[];
  readonly hasMore: boolean;
}

interface ResponseRow {
  id: string;
  owner: string;
  created_at: number;
  status: string;
  model: string;
  request: string;
  response: string | null;
  previous_response_id: string | null;
  conversation: string;
  background: number;
}

const DAY_MS = 86_400_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS responses (
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  status TEXT NOT NULL,
  model TEXT NOT NULL,
  request TEXT NOT NULL,
  response TEXT,
  previous_response_id TEXT,
  conversation TEXT NOT NULL,
  background INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS responses_by_age ON responses (created_at);
CREATE TABLE IF NOT EXISTS input_items (
  response_id TEXT NOT NULL REFERENCES responses (id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  item_id TEXT NOT NULL,
  item TEXT NOT NULL,
  PRIMARY KEY (response_id, position)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS input_items_by_id ON input_items (item_id);
CREATE TABLE IF NOT EXISTS output_items (
  response_id TEXT NOT NULL REFERENCES responses (id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  item_id TEXT NOT NULL,
  item TEXT NOT NULL,
  PRIMARY KEY (response_id, position)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS output_items_by_id ON output_items (item_id);
CREATE TABLE IF NOT EXISTS response_events (
  response_id TEXT NOT NULL REFERENCES responses (id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  sequence INTEGER NOT NULL,
  event TEXT,
  data TEXT NOT NULL,
  PRIMARY KEY (response_id, position)
) WITHOUT ROWID;
`;

export class ResponseStore {
  readonly #db: Database.Database;
  readonly #now: () => number;
  readonly #retentionMs: number;
  readonly #max: number;
  readonly #statements;

  /** Opens (creating) the database at `file` (`:memory:` for a throwaway one). */
  constructor(file: string, options: ResponseStoreOptions = {}) {
    if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
    this.#db = new Database(file);
    this.#db.pragma("journal_mode = WAL");
    this.#db.pragma("synchronous = NORMAL");
    this.#db.pragma("foreign_keys = ON");
    this.#db.pragma("busy_timeout = 5000");
    this.#db.exec(SCHEMA);
    this.#now = options.now ?? Date.now;
    this.#retentionMs = (options.retentionDays ?? DEFAULT_RESPONSES_RETENTION_DAYS) * DAY_MS;
    this.#max = options.maxResponses ?? DEFAULT_RESPONSES_MAX;
    const db = this.#db;
    this.#statements = {
      insert: db.prepare(
        `INSERT INTO responses (id, owner, created_at, status, model, request, response, previous_response_id, conversation, background)
         VALUES (@id, @owner, @created_at, @status, @model, @request, @response, @previous_response_id, @conversation, @background)`,
      ),
      insertItem: db.prepare("INSERT INTO input_items (response_id, position, item_id, item) VALUES (?, ?, ?, ?)"),
      update: db.prepare("UPDATE responses SET status = ?, response = ? WHERE id = ?"),
      clearOutput: db.prepare("DELETE FROM output_items WHERE response_id = ?"),
      insertOutput: db.prepare("INSERT INTO output_items (response_id, position, item_id, item) VALUES (?, ?, ?, ?)"),
      outputItemById: db.prepare("SELECT o.item FROM output_items o JOIN responses r ON r.id = o.response_id WHERE o.item_id = ? AND r.owner = ? LIMIT 1"),
      inputItemById: db.prepare("SELECT i.item FROM input_items i JOIN responses r ON r.id = i.response_id WHERE i.item_id = ? AND r.owner = ? LIMIT 1"),
      get: db.prepare("SELECT * FROM responses WHERE id = ? AND owner = ?"),
      remove: db.prepare("DELETE FROM responses WHERE id = ? AND owner = ?"),
      itemPosition: db.prepare("SELECT position FROM input_items WHERE response_id = ? AND item_id = ?"),
      itemsAsc: db.prepare("SELECT item FROM input_items WHERE response_id = ? AND position > ? ORDER BY position ASC LIMIT ?"),
      itemsDesc: db.prepare("SELECT item FROM input_items WHERE response_id = ? AND position < ? ORDER BY position DESC LIMIT ?"),
      allItems: db.prepare("SELECT item FROM input_items WHERE response_id = ? ORDER BY position ASC"),
      insertEvent: db.prepare("INSERT INTO response_events (response_id, position, sequence, event, data) VALUES (?, ?, ?, ?, ?)"),
      events: db.prepare("SELECT position, sequence, event, data FROM response_events WHERE response_id = ? AND sequence > ? ORDER BY position ASC"),
      // A response still running is never pruned: its run writes to it until it ends.
      expire: db.prepare("DELETE FROM responses WHERE created_at < ? AND status NOT IN ('queued', 'in_progress')"),
      count: db.prepare("SELECT COUNT(*) AS n FROM responses"),
      dropOldest: db.prepare("DELETE FROM responses WHERE id IN (SELECT id FROM responses WHERE status NOT IN ('queued', 'in_progress') ORDER BY created_at ASC, rowid ASC LIMIT ?)"),
      unfinished: db.prepare("SELECT * FROM responses WHERE status IN ('queued', 'in_progress')"),
    };
    this.#failUnfinished();
    this.prune();
  }

  /** Records a new response and its input items, then prunes what is now too old or too many. */
  create(entry: NewResponse): void {
    const insert = this.#db.transaction(() => {
      this.#statements.insert.run({
        id: entry.id,
        owner: entry.owner,
        created_at: this.#now(),
        status: entry.status,
        model: entry.model,
        request: JSON.stringify(entry.request),
        response: entry.response === undefined ? null : JSON.stringify(entry.response),
        previous_response_id: entry.previousResponseId ?? null,
        conversation: entry.conversation,
        background: entry.background ? 1 : 0,
      });
      entry.inputItems.forEach((item, position) => {
        this.#statements.insertItem.run(entry.id, position, itemId(item), JSON.stringify(item));
      });
      if (entry.response !== undefined) this.#writeOutput(entry.id, entry.response);
    });
    insert();
    this.prune();
  }

  /** Sets a response's status and body (no-op when it was deleted meanwhile). */
  update(id: string, response: OpenAIResponse): void {
    this.#db.transaction(() => {
      if (this.#statements.update.run(response.status ?? "completed", JSON.stringify(response), id).changes > 0) this.#writeOutput(id, response);
    })();
  }

  /**
   * The item `itemId` as `owner` may see it: an output item of one of their responses, else one of
   * their responses' input items (an item kept twice, as a turn's output then the next's input, is
   * the same item). Undefined when none of theirs holds it.
   */
  item(itemId: string, owner: string): ResponseItem | undefined {
    const row = (this.#statements.outputItemById.get(itemId, owner) ?? this.#statements.inputItemById.get(itemId, owner)) as { item: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.item) as ResponseItem);
  }

  /** The response `id` when `owner` owns it. */
  get(id: string, owner: string): StoredResponse | undefined {
    const row = this.#statements.get.get(id, owner) as ResponseRow | undefined;
    return row === undefined ? undefined : fromRow(row);
  }

  /** Deletes `id` (its items and events too) when `owner` owns it; whether it did. */
  delete(id: string, owner: string): boolean {
    return this.#statements.remove.run(id, owner).changes > 0;
  }

  /** Every input item of `id`, in order (the caller checked the owner). */
  inputItems(id: string): ResponseItem[] {
    return (this.#statements.allItems.all(id) as { item: string }[]).map((r) => JSON.parse(r.item) as ResponseItem);
  }

  /**
   * A page of `id`'s input items: `limit` of them in `order`, after the item `after` (an item id;
   * undefined: from the start). Undefined when `after` names no item of this response.
   */
  inputItemPage(id: string, options: { limit: number; order: "asc" | "desc"; after: string | undefined }): InputItemPage | undefined {
    let from = options.order === "asc" ? -1 : Number.MAX_SAFE_INTEGER;
    if (options.after !== undefined) {
      const row = this.#statements.itemPosition.get(id, options.after) as { position: number } | undefined;
      if (row === undefined) return undefined;
      from = row.position;
    }
    const statement = options.order === "asc" ? this.#statements.itemsAsc : this.#statements.itemsDesc;
    const rows = statement.all(id, from, options.limit + 1) as { item: string }[];
    return { items: rows.slice(0, options.limit).map((r) => JSON.parse(r.item) as ResponseItem), hasMore: rows.length > options.limit };
  }

  /** Appends one stream event of a background response. */
  appendEvent(id: string, event: StoredEvent): void {
    this.#statements.insertEvent.run(id, event.position, event.sequence, event.event ?? null, JSON.stringify(event.data));
  }

  /** The recorded events of `id` after sequence number `after` (the caller checked the owner). */
  events(id: string, after: number): StoredEvent[] {
    const rows = this.#statements.events.all(id, after) as { position: number; sequence: number; event: string | null; data: string }[];
    return rows.map((r) => ({ position: r.position, sequence: r.sequence, event: r.event ?? undefined, data: JSON.parse(r.data) as unknown }));
  }

  /** Deletes responses past the retention, then the oldest beyond the size cap; how many went. */
  prune(): number {
    let removed = 0;
    if (this.#retentionMs > 0) removed += this.#statements.expire.run(this.#now() - this.#retentionMs).changes;
    const { n } = this.#statements.count.get() as { n: number };
    if (n > this.#max) removed += this.#statements.dropOldest.run(n - this.#max).changes;
    return removed;
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }

  /** Replaces the output items of `id` with those of `response` (a response's output only grows, then ends). */
  #writeOutput(id: string, response: OpenAIResponse): void {
    this.#statements.clearOutput.run(id);
    (response.output ?? []).forEach((item, position) => {
      this.#statements.insertOutput.run(id, position, itemId(item as ResponseItem), JSON.stringify(item));
    });
  }

  /** Runs that were queued or in progress when the process stopped can never finish: they failed. */
  #failUnfinished(): void {
    for (const row of this.#statements.unfinished.all() as ResponseRow[]) {
      const stored = fromRow(row);
      if (stored.response === undefined) {
        this.#statements.update.run("failed", null, row.id);
        continue;
      }
      this.update(row.id, {
        ...stored.response,
        status: "failed",
        error: { code: "server_error", message: "The server stopped before this response finished." },
      });
    }
  }
}

function fromRow(row: ResponseRow): StoredResponse {
  return {
    id: row.id,
    owner: row.owner,
    createdAt: row.created_at,
    status: row.status as ResponseStatus,
    model: row.model,
    request: JSON.parse(row.request) as unknown,
    response: row.response === null ? undefined : (JSON.parse(row.response) as OpenAIResponse),
    previousResponseId: row.previous_response_id ?? undefined,
    conversation: row.conversation,
    background: row.background === 1,
  };
}

function itemId(item: ResponseItem): string {
  return "id" in item && typeof item.id === "string" ? item.id : "";
}
