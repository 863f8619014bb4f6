/**
 * `POST /apply-template`, `POST /tokenize` and `POST /detokenize`, in llama-server's shapes: what
 * the model sees, and token counts. `/apply-template` takes a chat-completions body, validated and
 * normalised exactly as `/v1/chat/completions` does, and answers `{"prompt"}`: the text generation
 * tokenizes (with the model's BOS left out when it adds BOS itself, so `/tokenize` with
 * `add_special: true` gives exactly the request's `usage.prompt_tokens`). `/tokenize` answers
 * `{"tokens": [id…]}`, or with `with_pieces` `{"tokens": [{id, piece}…]}` where `piece` is the
 * token's text when its bytes are valid UTF-8 and its byte values otherwise; `/detokenize` answers
 * `{"content"}`.
 *
 * `model` is optional on all three: by default the first served model (in `/v1/models` order)
 * that offers these tools and that the key may use. Only models Parley runs itself offer them;
 * for an upstream model the answer is a 400 naming `model` (its tokenizer and template live on the
 * upstream). Keys: the same bearer check as every route, and a key's model list (403).
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { ChatEngine } from "../../engines/types.ts";
import { ParleyError } from "../../domain/errors.ts";
import { DEFAULT_LIMITS, type RequestLimits } from "../../domain/limits.ts";
import type { Router } from "../../router/router.ts";
import { parseChatRequest } from "../dialects/chat-completions/normalize.ts";
import { parseDetokenizeBody, parseTokenizeBody, withDefaultModel } from "../../schemas/text-tools.ts";
import type { Auth } from "../auth/auth.ts";
import { disconnectSignal } from "../sse.ts";

export const APPLY_TEMPLATE_PATH = "/apply-template";
export const TOKENIZE_PATH = "/tokenize";
export const DETOKENIZE_PATH = "/detokenize";

/** An engine that offers the text tools. */
type TextEngine = ChatEngine & Required<Pick<ChatEngine, "applyTemplate" | "tokenize" | "tokenBytes">>;

function hasTextTools(engine: ChatEngine): engine is TextEngine {
  return engine.applyTemplate !== undefined && engine.tokenize !== undefined && engine.tokenBytes !== undefined;
}

/** A `piece`: the token's text when its bytes are valid UTF-8, else the byte values (as llama-server). */
type Piece = string | number[];

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

function piece(bytes: Uint8Array): Piece {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return Array.from(bytes);
  }
}

/**
 * `auth`: the key's model list applies, and picks the default model (default: none, open).
 * `limits`: what a request may hold (default DEFAULT_LIMITS).
 */
export function registerTextToolRoutes(app: FastifyInstance, router: Router, auth?: Auth, limits: RequestLimits = DEFAULT_LIMITS): void {
  const tools = new TextTools(router, auth);

  app.post(APPLY_TEMPLATE_PATH, async (request, reply) => {
    const parsed = parseChatRequest(
      withDefaultModel(request.body, () => tools.defaultModel(request, APPLY_TEMPLATE_PATH)),
      limits,
    );
    const engine = tools.engine(request, parsed.request.model, APPLY_TEMPLATE_PATH);
    return { prompt: await engine.applyTemplate(parsed.request, disconnectSignal(reply.raw)) };
  });

  app.post(TOKENIZE_PATH, async (request) => {
    const body = parseTokenizeBody(request.body, limits);
    const engine = tools.engine(request, body.model ?? tools.defaultModel(request, TOKENIZE_PATH), TOKENIZE_PATH);
    const ids = await engine.tokenize(body.content, { addSpecial: body.addSpecial, field: "content" });
    if (!body.withPieces) return { tokens: ids };
    const bytes = engine.tokenBytes(ids);
    return { tokens: ids.map((id, i) => ({ id, piece: piece(bytes[i] ?? new Uint8Array()) })) };
  });

  app.post(DETOKENIZE_PATH, async (request) => {
    const body = parseDetokenizeBody(request.body, limits);
    const engine = tools.engine(request, body.model ?? tools.defaultModel(request, DETOKENIZE_PATH), DETOKENIZE_PATH);
    await engine.load(); // a model loaded on demand (the vocabulary is the loaded model's)
    // Bytes first, decoded once: a character split across tokens comes out whole.
    return { content: Buffer.concat(engine.tokenBytes(body.tokens)).toString("utf8") };
  });
}

/** Which engine answers a text-tools request. */
class TextTools {
  readonly #router: Router;
  readonly #auth: Auth | undefined;

  constructor(router: Router, auth: Auth | undefined) {
    this.#router = router;
    this.#auth = auth;
  }

  /** The first served model that offers the text tools and that the request's key may use; 400 if none. */
  defaultModel(request: FastifyRequest, route: string): string {
    const principal = this.#auth?.principal(request);
    for (const { id } of this.#router.listModels()) {
      if (hasTextTools(this.#router.resolve(id)) && (this.#auth === undefined || this.#auth.allows(principal, id))) return id;
    }
    throw new ParleyError("invalid_request", `\`${route}\` needs a model that Parley runs itself, and none is served${this.#auth?.keys.enabled === true ? " that this key may use" : ""}.`, {
      param: "model",
      code: "model_not_supported",
    });
  }

  /** The engine of `model`: 403 if the key may not use it, 404 if unknown, 400 if it does not offer the text tools. */
  engine(request: FastifyRequest, model: string, route: string): TextEngine {
    this.#auth?.checkModel(request, model);
    const engine = this.#router.resolve(model);
    if (hasTextTools(engine)) return engine;
    throw new ParleyError("invalid_request", `\`${route}\` is not available for the model \`${model}\`: it is served by an upstream server, whose tokenizer and chat template Parley does not have.`, {
      param: "model",
      code: "model_not_supported",
    });
  }
}
