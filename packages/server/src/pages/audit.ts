import type { FastifyRequest } from 'fastify';
import { auditRequest, type RequestAuditEvent } from '../audit/request-audit.ts';
import type { AppContext } from '../context.ts';

/** An audit row for something done on the hosted pages. */
export const auditPage = (ctx: AppContext, request: FastifyRequest, event: RequestAuditEvent): void =>
  auditRequest(ctx, request, 'pages', event);
