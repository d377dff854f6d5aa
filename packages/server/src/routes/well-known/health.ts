import { Type } from '@sinclair/typebox';
import { sql } from 'kysely';
import { defineRoute } from '../route.ts';

const within = <T>(ms: number, work: Promise<T>): Promise<T> =>
  Promise.race([work, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);

export const healthzRoute = defineRoute({
  method: 'GET',
  url: '/healthz',
  surface: 'public',
  summary: 'Liveness: the process answers',
  tag: 'Operations',
  responses: { 200: { description: 'Alive', schema: Type.Object({ status: Type.Literal('ok') }) } },
  errors: [],
  async handler(_request, reply) {
    return reply.send({ status: 'ok' });
  },
});

const Checks = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('unavailable')]),
  checks: Type.Record(
    Type.String(),
    Type.Union([Type.Literal('ok'), Type.Literal('down'), Type.Literal('not configured')]),
  ),
});

export const readyzRoute = defineRoute({
  method: 'GET',
  url: '/readyz',
  surface: 'public',
  summary: 'Readiness: database and Redis reachable; says which is down',
  tag: 'Operations',
  responses: {
    200: { description: 'Ready', schema: Checks },
    503: { description: 'A dependency is down', schema: Checks },
  },
  errors: [],
  async handler(_request, reply, ctx) {
    const timeout = ctx.config.dependencyTimeoutMs;
    const [database, redis] = await Promise.all([
      within(timeout, sql`SELECT 1`.execute(ctx.db)).then(
        () => 'ok' as const,
        () => 'down' as const,
      ),
      ctx.redis
        ? within(timeout, ctx.redis.ping()).then(
            () => 'ok' as const,
            () => 'down' as const,
          )
        : Promise.resolve('not configured' as const),
    ]);
    const ready = database === 'ok' && redis !== 'down';
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', checks: { database, redis } });
  },
});

export const metricsRoute = defineRoute({
  method: 'GET',
  url: '/metrics',
  surface: 'public',
  summary: 'Prometheus metrics of this instance',
  tag: 'Operations',
  responses: { 200: { description: 'Prometheus text format', contentType: 'text/plain', schema: Type.String() } },
  errors: [],
  async handler(_request, reply, ctx) {
    return reply.header('content-type', ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  },
});
