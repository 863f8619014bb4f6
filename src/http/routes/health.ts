/** `GET /health`: 503 while the model loads (or during shutdown), 200 once it can serve. */
import type { FastifyInstance } from "fastify";
import { ParleyError } from "../../domain/errors.ts";
import type { Router } from "../../router/router.ts";

export function registerHealthRoute(app: FastifyInstance, router: Router): void {
  app.get("/health", async () => {
    if (!router.isReady()) throw new ParleyError("unavailable", "Not ready: the model is loading or the server is shutting down.", { retryAfter: 1 });
    return { status: "ok" };
  });
}
