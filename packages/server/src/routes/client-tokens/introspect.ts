import { compileValidator } from '../../schemas/validator.ts';
import { isTokenRevoked } from '../../store/client-tokens.ts';
import { verifyClientAccessToken } from '../../tokens/client-access-token.ts';
import { readJsonBody } from '../json-body.ts';
import { defineRoute } from '../route.ts';
import { hmacErrors } from './client-auth-token.ts';
import { requireHmacCredential } from './hmac-auth.ts';
import { ClientErrorResponse, IntrospectionResponse, TokenRequest, ValidationErrorResponse } from './schemas.ts';

const validate = compileValidator<TokenRequest>(TokenRequest);

export const introspectRoute = defineRoute({
  method: 'POST',
  url: '/introspect',
  surface: 'client-token',
  summary: 'Introspect a client access token (RFC 7662 shape)',
  tag: 'Client access tokens',
  security: 'hmac',
  body: TokenRequest,
  responses: {
    200: { description: 'Active with claims, or {"active": false}', schema: IntrospectionResponse },
    400: { description: 'Invalid request', schema: ValidationErrorResponse },
    403: { description: 'Request authentication failed', schema: ClientErrorResponse },
  },
  errors: hmacErrors,
  async handler(request, reply, ctx) {
    const credential = await requireHmacCredential(request, ctx, 'client_token.introspect');
    const { token } = readJsonBody(request, validate);
    const verified = await verifyClientAccessToken(ctx, token);
    // Expired, revoked, forged, unknown and other platforms' tokens all look the same: inactive.
    const active =
      verified !== undefined &&
      !verified.expired &&
      verified.claims.platform_code === credential.platformCode &&
      !(await isTokenRevoked(ctx.db, verified.claims.jti as string));
    return reply.code(200).send(active ? { active: true, ...verified.claims } : { active: false });
  },
});
