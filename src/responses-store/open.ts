/**
 * Opens the Responses API's state as the server's configuration says: the SQLite file of
 * `--responses-store` (default `<cache-dir>/responses.sqlite`, beside the downloaded models), or
 * none with `off`; with the retention (`--responses-retention`) and size cap (`--responses-max`).
 */
import { join, resolve } from "node:path";
import { defaultCacheDir } from "../engines/llama/model-source.ts";
import { BackgroundRuns } from "./background-runs.ts";
import type { ResponsesState } from "./create-response.ts";
import { ResponseStore } from "./store.ts";

export interface ResponsesStateSettings {
  /** `--responses-store`: a file, or `off` (default: `<cacheDir>/responses.sqlite`). */
  readonly responsesStore?: string | undefined;
  /** `--cache-dir` (default: defaultCacheDir()). */
  readonly cacheDir?: string | undefined;
  /** `--responses-retention`, days (0: forever). */
  readonly responsesRetention: number;
  /** `--responses-max`. */
  readonly responsesMax: number;
}

/** The database file `settings` name, or undefined for `off`. */
export function responsesStoreFile(settings: Pick<ResponsesStateSettings, "responsesStore" | "cacheDir">): string | undefined {
  if (settings.responsesStore === "off") return undefined;
  return settings.responsesStore === undefined ? join(resolve(settings.cacheDir ?? defaultCacheDir()), "responses.sqlite") : resolve(settings.responsesStore);
}

/** The store and its background runs, or undefined with `off`. The caller closes them (`closeResponsesState`). */
export function openResponsesState(settings: ResponsesStateSettings): ResponsesState | undefined {
  const file = responsesStoreFile(settings);
  if (file === undefined) return undefined;
  const store = new ResponseStore(file, { retentionDays: settings.responsesRetention, maxResponses: settings.responsesMax });
  return { store, runs: new BackgroundRuns(store) };
}

/** Stops the background runs still going (their state is stored), then closes the database. */
export async function closeResponsesState(state: ResponsesState | undefined): Promise<void> {
  if (state === undefined) return;
  await state.runs.close();
  state.store.close();
}
