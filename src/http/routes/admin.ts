/**
 * `GET /admin/usage`, behind the admin key (`--admin-key`): per user and model, since the server
 * started, requests admitted and their prompt and completion tokens. Not registered (so a 404, or
 * a 401 for unauthenticated callers when keys are required) without an admin key.
 */
import type { FastifyInstance } from "fastify";
import type { Auth } from "../auth/auth.ts";

export function registerAdminRoutes(app: FastifyInstance, auth: Auth): void {
  if (auth.admin === undefined) return;
  app.get("/admin/usage", async (request, reply) => {
    if (!auth.checkAdmin(request, reply)) return reply;
    return { object: "usage", since: auth.usage.since.toISOString(), data: auth.usage.rows() };
  });
}
