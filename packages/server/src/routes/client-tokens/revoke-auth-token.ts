import { HandoffError } from '../../errors/catalogue.ts';
import { compileValidator } from '../../schemas/validator.ts';
import { revokeToken } from '../../store/client-tokens.ts';
import { verifyClientAccessToken } from '../../tokens/client-access-token.ts';
import { readJsonBody } from '../json-body.ts';
import { defineRoute } from '../route.ts';
import { hmacErrors } from './client-auth-token.ts';
import { requireHmacCredential } from './hmac-auth.ts';
import { ClientErrorResponse, TokenRequest, ValidationErrorResponse } from './schemas.ts';

const validate = compileValidator<TokenRequest>(TokenRequest);

export const revokeAuthTokenRoute = defineRoute({
  method: 'POST',
  url: '/revoke_auth_token',
  surface: 'client-token',
  summary: 'Revoke a client access token of the calling platform',
  tag: 'Client access tokens',
  security: 'hmac',
  body: TokenRequest,
  responses: {
    204: { description: 'Revoked (also when it already was)' },
    400: { description: 'Invalid request', schema: ValidationErrorResponse },
    403: { description: 'Request authentication failed', schema: ClientErrorResponse },
    404: { description: 'Not a token of this platform', schema: ClientErrorResponse },
  },
  errors: [...hmacErrors, 'token_not_found'],
  async handler(request, reply, ctx) {
    const credential = await requireHmacCredential(request, ctx, 'client_token.revoke');
    const { token } = readJsonBody(request, validate);
    const verified = await verifyClientAccessToken(ctx, token);
    if (!verified || verified.claims.platform_code !== credential.platformCode)
      throw new HandoffError('token_not_found');
    const { claims } = verified;
    await revokeToken(ctx.db, {
      jti: claims.jti as string,
      partnerId: credential.partnerId,
      expiresAt: new Date((claims.exp as number) * 1000),
    });
    ctx.audit.record({
      at: new Date(ctx.clock()),
      surface: 'client-token',
      action: 'client_token.revoke',
      outcome: 'success',
      partnerId: credential.partnerId,
      credentialId: credential.id,
      requestId: request.id,
      ip: request.ip,
      detail: { jti: claims.jti },
    });
    return reply.code(204).send();
  },
});
