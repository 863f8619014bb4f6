/**
 * `GET /metrics`: the server's Prometheus metrics in the text exposition format (see
 * ../metrics.ts for what is measured).
 */
import type { FastifyInstance } from "fastify";
import type { ParleyMetrics } from "../metrics.ts";

export function registerMetricsRoute(app: FastifyInstance, metrics: ParleyMetrics): void {
  app.get("/metrics", async (_request, reply) => {
    const { contentType, body } = await metrics.render();
    return reply.type(contentType).send(body);
  });
}
