import type { FastifyRequest } from 'fastify';
import { auditRequest, type RequestAuditEvent } from '../../audit/request-audit.ts';
import type { AppContext } from '../../context.ts';

/** An audit row for a partner-API action. */
export const auditPartnerApi = (ctx: AppContext, request: FastifyRequest, event: RequestAuditEvent): void =>
  auditRequest(ctx, request, 'partner-api', event);
