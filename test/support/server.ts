/**
 * Starts a real Parley server on a free port with the test model, for tests that drive it over
 * HTTP with the official `openai` client (and raw `fetch` where the wire format is the point).
 */
import OpenAI from "openai";
import { loadServeConfig } from "../../src/config/config-file.ts";
import { startServer, type RunningServer } from "../../src/server.ts";
import { TEST_MODEL_SPECIAL_TOKENS } from "../../src/testing/test-model.ts";

export const MODEL = "parley-test-model";

/** logit_bias that bans every end-of-generation token, so outputs run to max_tokens. */
export const NO_EOS: Record<string, number> = {
  [TEST_MODEL_SPECIAL_TOKENS.eos.id]: -100,
  [TEST_MODEL_SPECIAL_TOKENS.imEnd.id]: -100,
};

export interface TestServer {
  readonly server: RunningServer;
  readonly url: string;
  readonly client: OpenAI;
  close(): Promise<void>;
}

/**
 * Flags as on the command line, e.g. ["--parallel", "1"], `--config <file>` included. Defaults: port 0, 1 thread, ctx 512, no
 * stored responses (tests that store pass `--responses-store <file>`, so no test shares the
 * user's default store file).
 */
export async function startTestServer(flags: readonly string[] = []): Promise<TestServer> {
  const { config, file } = loadServeConfig(["--port", "0", "--threads", "1", "--ctx-size", "512", "--log-level", "warn", "--responses-store", "off", ...flags], {});
  const server = await startServer(config, file);
  await server.ready;
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0, timeout: 60_000 });
  return { server, url: server.url, client, close: () => server.close() };
}

/** Parses an SSE body into its `data:` payloads (raw strings), checking the framing on the way. */
export function parseSse(body: string): string[] {
  if (!body.endsWith("\n\n")) throw new Error(`SSE body does not end with a blank line: ${JSON.stringify(body.slice(-40))}`);
  return body
    .slice(0, -2)
    .split("\n\n")
    .map((frame) => {
      if (!frame.startsWith("data: ") || frame.includes("\n")) throw new Error(`bad SSE frame: ${JSON.stringify(frame)}`);
      return frame.slice("data: ".length);
    });
}

export async function postChat(url: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
    ...(signal === undefined ? {} : { signal }),
  });
}
