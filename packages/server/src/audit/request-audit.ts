import type { FastifyRequest } from 'fastify';
import type { AppContext } from '../context.ts';
import type { AuditEvent } from '../store/audit.ts';

export interface RequestAuditEvent {
  action: string;
  outcome: 'success' | 'rejected';
  reason?: string;
  partnerId?: string | null;
  participantId?: string | null;
  detail?: Record<string, unknown>;
}

/** An audit row for something a request did: ids, outcome and reason, with its request id and IP; never token material. */
export function auditRequest(
  ctx: AppContext,
  request: FastifyRequest,
  surface: AuditEvent['surface'],
  event: RequestAuditEvent,
): void {
  ctx.audit.record({
    at: new Date(ctx.clock()),
    surface,
    action: event.action,
    outcome: event.outcome,
    reason: event.reason ?? null,
    partnerId: event.partnerId ?? null,
    participantId: event.participantId ?? null,
    requestId: request.id,
    ip: request.ip,
    detail: event.detail ?? null,
  });
}
