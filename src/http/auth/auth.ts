/**
 * Authentication and per-key policy for the HTTP layer. With keys configured, an `onRequest` hook
 * (which runs before the body is read, for every method and for unknown routes too) requires a
 * known bearer key on every route but `GET/HEAD /health`; the exemption is decided by the route
 * Fastify actually matched, never by the raw URL, so encodings and dot segments cannot reach
 * another handler unauthenticated. `/admin/*` routes check the admin key themselves.
 * The chat route then asks `checkModel` (403) and `admit` (429) for the authenticated principal.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ApiKeySpec } from "../../config/api-keys.ts";
import { ParleyError } from "../../domain/errors.ts";
import type { ChatEvent } from "../../domain/events.ts";
import { toHttpError } from "../errors.ts";
import { errorPayload } from "../plugins/errors.ts";
import { bearerToken, requestKey } from "./bearer.ts";
import { KeyStore, SingleKey, type Principal } from "./key-store.ts";
import { Limiter, type Admission } from "./limiter.ts";
import { UsageSummary } from "./usage.ts";

export interface AuthOptions {
  /** API keys (default none: the server is open). */
  readonly keys?: readonly ApiKeySpec[];
  /** The admin key for `/admin/*` (default none: no admin routes). */
  readonly adminKey?: { key: string } | { sha256: string };
  /** The limiter's clock in ms (default `Date.now`). */
  readonly now?: () => number;
  /** The model id a requested name stands for (aliases → ids), so a key's `models` may name either (default: names as they are). */
  readonly canonicalModel?: (name: string) => string;
}

declare module "fastify" {
  interface FastifyContextConfig {
    /** The route controls the server: it checks the admin key itself (`checkControl`), not an API key. */
    admin?: boolean;
  }
}

/** Routes reachable without a key (matched route patterns). */
const PUBLIC_ROUTES = new Set(["/health"]);
export const ADMIN_PREFIX = "/admin/";
/** The user recorded for requests on an open server. */
export const ANONYMOUS = "anonymous";

export class Auth {
  readonly keys: KeyStore;
  readonly admin: SingleKey | undefined;
  readonly usage = new UsageSummary();
  readonly #limiter: Limiter;
  readonly #principals = new WeakMap<FastifyRequest, Principal>();
  readonly #canonical: (name: string) => string;

  constructor(options: AuthOptions = {}) {
    this.#canonical = options.canonicalModel ?? ((name) => name);
    this.keys = new KeyStore(options.keys ?? []);
    this.admin = options.adminKey === undefined ? undefined : new SingleKey(options.adminKey);
    this.#limiter = new Limiter(options.now === undefined ? {} : { now: options.now });
  }

  /** Installs the hook (keys configured) on `app`'s root context. */
  register(app: FastifyInstance): void {
    if (!this.keys.enabled) return;
    app.addHook("onRequest", async (request, reply) => {
      const route = request.routeOptions.url;
      const matched = request.is404 !== true && route !== undefined;
      if (matched && PUBLIC_ROUTES.has(route)) return;
      // The admin key is checked by the route (`/admin/*`, and routes whose config says `admin`).
      if (matched && (route.startsWith(ADMIN_PREFIX) || request.routeOptions.config.admin === true)) return;
      const token = requestKey(request.headers, matched ? route : undefined);
      const principal = token === undefined ? undefined : this.keys.authenticate(token);
      if (principal === undefined) return unauthorized(reply, token === undefined);
      this.#principals.set(request, principal);
      return undefined;
    });
  }

  /** The key `request` authenticated with; undefined on an open server (and on public routes). */
  principal(request: FastifyRequest): Principal | undefined {
    return this.#principals.get(request);
  }

  /** The user id to record for `request`: the key's user, or undefined on an open server. */
  user(request: FastifyRequest): string | undefined {
    return this.#principals.get(request)?.user;
  }

  /** Whether `principal` (undefined: open server) may use `model`. */
  allows(principal: Principal | undefined, model: string): boolean {
    if (principal?.models === undefined) return true;
    const wanted = this.#canonical(model);
    for (const allowed of principal.models) if (this.#canonical(allowed) === wanted) return true;
    return false;
  }

  /** Throws a 403 when the request's key may not use `model` (whether or not it exists). */
  checkModel(request: FastifyRequest, model: string): void {
    if (this.allows(this.principal(request), model)) return;
    throw new ParleyError("permission_denied", `This API key is not allowed to use the model \`${model}\`.`, { param: "model", code: "model_not_allowed" });
  }

  /** Admits the request under its key's limits (429 otherwise); an open server has none. */
  admit(request: FastifyRequest): Admission {
    const principal = this.principal(request);
    return principal === undefined ? UNLIMITED : this.#limiter.admit(principal);
  }

  /** For `/admin/*` routes: 401 without or with an unknown key, 403 with a non-admin API key. Returns false when it answered. */
  checkAdmin(request: FastifyRequest, reply: FastifyReply): boolean {
    const token = bearerToken(request.headers.authorization);
    if (token !== undefined && this.admin?.matches(token) === true) return true;
    if (token !== undefined && this.keys.authenticate(token) !== undefined) {
      const mapped = toHttpError(new ParleyError("permission_denied", "This route needs the admin key.", { code: "admin_key_required" }));
      void reply.code(mapped.status).send(mapped.body);
      return false;
    }
    void unauthorized(reply, token === undefined);
    return false;
  }
}

/**
 * For routes that control the server (loading and unloading models): the admin key when one is
 * configured (as `checkAdmin`); on an open server without one, anyone (as every other route); with
 * API keys but no admin key, nobody (403 naming `--admin-key`). Returns false when it answered.
 */
export function checkControl(auth: Auth, request: FastifyRequest, reply: FastifyReply): boolean {
  if (auth.admin !== undefined) return auth.checkAdmin(request, reply);
  if (!auth.keys.enabled) return true;
  const mapped = toHttpError(
    new ParleyError("permission_denied", "This route needs the admin key, and this server has none: start it with --admin-key (or adminKey in the config file).", { code: "admin_key_required" }),
  );
  void reply.code(mapped.status).send(errorPayload(reply.request, mapped));
  return false;
}

const UNLIMITED: Admission = { charge: () => undefined, release: () => undefined };

function unauthorized(reply: FastifyReply, missing: boolean): FastifyReply {
  const message = missing
    ? "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
    : "Incorrect API key provided.";
  const mapped = toHttpError(new ParleyError("unauthenticated", message, { code: "invalid_api_key" }));
  return reply.code(mapped.status).header("www-authenticate", "Bearer").send(errorPayload(reply.request, mapped));
}

/**
 * Passes a request's events through, charging its `usage` to its key's token window and to the
 * usage summary (`user`: the key's user, or `anonymous`).
 */
export async function* metered(events: AsyncIterable<ChatEvent>, auth: Auth, user: string, model: string, admission: Admission): AsyncIterable<ChatEvent> {
  for await (const event of events) {
    if (event.type === "usage") {
      const { promptTokens, completionTokens } = event.usage;
      admission.charge(promptTokens + completionTokens);
      auth.usage.tokens(user, model, promptTokens, completionTokens);
    }
    yield event;
  }
}
