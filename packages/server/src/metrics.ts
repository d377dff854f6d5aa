import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics of one process; each instance is scraped on its own `/metrics`. `auditPending` is read at
 * each scrape: audit events not yet written (a backlog that grows while the database is unreachable).
 */
export function createMetrics(sources: { auditPending: () => number }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  new Gauge({
    name: 'handoff_audit_pending_events',
    help: 'Audit events recorded and not yet written to the store (buffered or being inserted).',
    registers: [registry],
    collect() {
      this.set(sources.auditPending());
    },
  });
  return {
    registry,
    httpRequests: new Counter({
      name: 'handoff_http_requests_total',
      help: 'HTTP requests by route and status.',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'handoff_http_request_duration_seconds',
      help: 'HTTP request latency by route.',
      labelNames: ['method', 'route'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    tokensIssued: new Counter({
      name: 'handoff_tokens_issued_total',
      help: 'Tokens issued, by kind.',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    tokensRedeemed: new Counter({
      name: 'handoff_tokens_redeemed_total',
      help: 'One-time tokens redeemed, by kind.',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    tokensRejected: new Counter({
      name: 'handoff_requests_rejected_total',
      help: 'Requests rejected, by surface and reason (catalogue code).',
      labelNames: ['surface', 'reason'] as const,
      registers: [registry],
    }),
    dependencyErrors: new Counter({
      name: 'handoff_dependency_errors_total',
      help: 'Failures reaching a dependency.',
      labelNames: ['dependency'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
