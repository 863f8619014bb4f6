/**
 * `POST /v1/messages/count_tokens`: `{"input_tokens"}`, the prompt a `/v1/messages` request with
 * the same body would read, counted with the model's own template and tokenizer
 * (`applyTemplate`, then `tokenize` with `addSpecial`): it equals that request's
 * `input_tokens + cache_read_input_tokens`. Only models Parley runs itself can count; for an
 * upstream model it is a 400 naming `model`. Keys, the key's model list (403) and Anthropic's
 * error envelope as on `/v1/messages`.
 */
import type { FastifyInstance } from "fastify";
import type { MessageTokensCount } from "@anthropic-ai/sdk/resources/messages/messages";
import { ParleyError } from "../../../domain/errors.ts";
import type { RequestLimits } from "../../../domain/limits.ts";
import type { Router } from "../../../router/router.ts";
import type { Auth } from "../../auth/auth.ts";
import { disconnectSignal } from "../../sse.ts";
import { parseCountTokensRequest } from "./normalize.ts";
import { anthropicErrorBody } from "./wire-errors.ts";

export const COUNT_TOKENS_PATH = "/v1/messages/count_tokens";

export interface CountTokensDependencies {
  readonly router: Router;
  readonly settings: { readonly limits: RequestLimits };
  /** The key's model list (default: none, open). */
  readonly auth?: Auth | undefined;
}

export function registerCountTokensRoute(app: FastifyInstance, { router, settings, auth }: CountTokensDependencies): void {
  app.post(COUNT_TOKENS_PATH, { config: { errorBody: anthropicErrorBody } }, async (request, reply): Promise<MessageTokensCount> => {
    const { request: chat } = parseCountTokensRequest(request.body, settings.limits);
    auth?.checkModel(request, chat.model);
    const engine = router.resolve(chat.model);
    if (engine.applyTemplate === undefined || engine.tokenize === undefined) {
      throw new ParleyError(
        "invalid_request",
        `Token counting is not available for the model \`${chat.model}\`: it is served by an upstream server, whose tokenizer and chat template Parley does not have.`,
        {
          param: "model",
          code: "model_not_supported",
        },
      );
    }
    const prompt = await engine.applyTemplate(chat, disconnectSignal(reply.raw));
    const tokens = await engine.tokenize(prompt, { addSpecial: true, field: "messages" });
    return { input_tokens: tokens.length };
  });
}
