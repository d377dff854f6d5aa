import { variantErrors } from '../../domain/permissions.ts';
import type { ErrorCode } from '../../errors/catalogue.ts';
import { HandoffError } from '../../errors/catalogue.ts';
import { compileValidator } from '../../schemas/validator.ts';
import { issueClientAccessToken } from '../../tokens/client-access-token.ts';
import { readJsonBody } from '../json-body.ts';
import { defineRoute } from '../route.ts';
import { requireHmacCredential } from './hmac-auth.ts';
import {
  ClientAuthTokenRequest,
  ClientAuthTokenResponse,
  ClientErrorResponse,
  ValidationErrorResponse,
} from './schemas.ts';

const validate = compileValidator<ClientAuthTokenRequest>(ClientAuthTokenRequest);

export const hmacErrors: readonly ErrorCode[] = [
  'missing_header',
  'malformed_timestamp',
  'timestamp_outside_window',
  'unknown_api_key',
  'credential_revoked',
  'partner_disabled',
  'bad_passphrase',
  'bad_signature',
  'replay',
  'rate_limited',
  'payload_too_large',
  'unsupported_media_type',
  'invalid_request',
  'unavailable',
  'internal',
];

export const clientAuthTokenRoute = defineRoute({
  method: 'POST',
  url: '/client_auth_token',
  surface: 'client-token',
  summary: 'Mint a client access token (JWT) for one end user',
  tag: 'Client access tokens',
  security: 'hmac',
  body: ClientAuthTokenRequest,
  responses: {
    201: { description: 'Token issued', schema: ClientAuthTokenResponse },
    400: { description: 'Invalid request, one message per problem', schema: ValidationErrorResponse },
    403: { description: 'Request authentication failed', schema: ClientErrorResponse },
    404: { description: 'Participant or merchant not found for this platform', schema: ClientErrorResponse },
    409: { description: 'reference_id already used with different content', schema: ClientErrorResponse },
    413: { description: 'Body over the size limit', schema: ClientErrorResponse },
    422: { description: 'Not allowed (status/permission rules, email mismatch)', schema: ClientErrorResponse },
    429: { description: 'Rate limited; see Retry-After', schema: ClientErrorResponse },
    503: { description: 'Database or Redis unavailable', schema: ClientErrorResponse },
  },
  errors: [...hmacErrors, 'participant_not_found', 'merchant_not_found', 'reference_conflict', 'not_allowed'],
  async handler(request, reply, ctx) {
    const credential = await requireHmacCredential(request, ctx, 'client_token.issue');
    try {
      const body = readJsonBody(request, validate);
      const variants = variantErrors(body);
      if (variants.length > 0) throw new HandoffError('invalid_request', { details: variants });
      const issued = await issueClientAccessToken(
        ctx,
        { id: credential.partnerId, platformCode: credential.platformCode, settings: credential.partnerSettings },
        body,
      );
      ctx.metrics.tokensIssued.inc({ kind: 'client_access_token' });
      ctx.audit.record({
        at: new Date(ctx.clock()),
        surface: 'client-token',
        action: 'client_token.issue',
        outcome: 'success',
        partnerId: credential.partnerId,
        credentialId: credential.id,
        participantId: issued.participant?.uuid ?? null,
        requestId: request.id,
        ip: request.ip,
        detail: {
          jti: issued.jti,
          permissions: body.permissions,
          ...(body.reference_id ? { reference_id: body.reference_id } : {}),
          ...(issued.depositIntentId ? { deposit_intent_id: issued.depositIntentId } : {}),
          ...(issued.paymentId ? { payment_id: issued.paymentId } : {}),
        },
      });
      const message: Record<string, string> = { token: issued.token };
      if (issued.depositIntentId) message.deposit_intent_id = issued.depositIntentId;
      if (issued.paymentId) message.payment_id = issued.paymentId;
      return reply.code(201).send({ message });
    } catch (error) {
      if (error instanceof HandoffError) {
        ctx.audit.record({
          at: new Date(ctx.clock()),
          surface: 'client-token',
          action: 'client_token.issue',
          outcome: 'rejected',
          reason: error.code,
          partnerId: credential.partnerId,
          credentialId: credential.id,
          requestId: request.id,
          ip: request.ip,
        });
      }
      throw error;
    }
  },
});
