/**
 * `POST /v1/responses/input_tokens` (and `/responses/input_tokens`): how many tokens a Responses
 * request's input takes, without generating: `{"object": "response.input_tokens", "input_tokens"}`.
 * The body is a Responses request, validated and normalised as `POST /v1/responses` does (so
 * `instructions`, tools, `text.format` and `truncation: "auto"` count as they would), and counted
 * with the engine's own template and tokenizer: exactly the `usage.input_tokens` a generation
 * reports. Engines without them (upstream models) answer a 400 naming `model`. Keys: the same
 * bearer check as every route, and the key's model list (403).
 */
import type { FastifyInstance } from "fastify";
import { ParleyError } from "../../../domain/errors.ts";
import { DEFAULT_LIMITS, type RequestLimits } from "../../../domain/limits.ts";
import type { Router } from "../../../router/router.ts";
import type { Auth } from "../../auth/auth.ts";
import { disconnectSignal } from "../../sse.ts";
import { parseResponsesRequest } from "./normalize.ts";
import { countInputTokens, fitInput } from "./truncation.ts";

export const INPUT_TOKENS_PATHS = ["/v1/responses/input_tokens", "/responses/input_tokens"] as const;

/** `auth`: the key's model list applies (default: none, open). `limits`: what a request may hold (default DEFAULT_LIMITS). */
export function registerResponsesInputTokens(app: FastifyInstance, router: Router, auth?: Auth, limits: RequestLimits = DEFAULT_LIMITS): void {
  for (const path of INPUT_TOKENS_PATHS) {
    app.post(path, async (request, reply) => {
      const parsed = parseResponsesRequest(request.body, limits);
      const { model } = parsed.request;
      auth?.checkModel(request, model);
      const engine = router.resolve(model);
      const signal = disconnectSignal(reply.raw);
      const fitted = await fitInput(parsed, engine, signal);
      const tokens = await countInputTokens(engine, fitted.request, signal);
      if (tokens === undefined) {
        throw new ParleyError(
          "invalid_request",
          `Counting input tokens is not available for the model \`${model}\`: it is served by an upstream server, whose tokenizer and chat template Parley does not have.`,
          {
            param: "model",
            code: "model_not_supported",
          },
        );
      }
      return { object: "response.input_tokens", input_tokens: tokens };
    });
  }
}
