import { Type } from '@sinclair/typebox';
import { authenticatePartner } from '../../auth/partner-auth.ts';
import { randomToken, sha256Hex } from '../../crypto/random.ts';
import { HandoffError } from '../../errors/catalogue.ts';
import { compileValidator } from '../../schemas/validator.ts';
import { identifierPattern, insertLinkRequest, isIdentifierTaken } from '../../store/identifiers.ts';
import { readJsonBody } from '../json-body.ts';
import { defineRoute } from '../route.ts';
import { auditPartnerApi } from './audit.ts';
import { errorResponses, partnerAuthErrors, RegisterIdentifierRequest } from './schemas.ts';

const validate = compileValidator<RegisterIdentifierRequest>(RegisterIdentifierRequest);

/** How long the hosted linking page accepts a link request. */
export const linkRequestTtlSeconds = 3600;

/** Whether `returnUrl` is an absolute http(s) URL on one of the partner's registered origins. */
export function isAllowedReturnUrl(returnUrl: string, allowedOrigins: readonly string[] | undefined): boolean {
  let url: URL;
  try {
    url = new URL(returnUrl);
  } catch {
    return false;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return false;
  return (allowedOrigins ?? []).some((origin) => {
    try {
      return new URL(origin).origin === url.origin;
    } catch {
      return false;
    }
  });
}

export const registerIdentifierRoute = defineRoute({
  method: 'POST',
  url: '/api/v1/user/register-identifier',
  surface: 'partner-api',
  summary: 'Start linking an identifier: the user signs in on the returned hosted page and confirms',
  tag: 'Users',
  security: 'partner',
  body: RegisterIdentifierRequest,
  responses: {
    200: { description: 'Hosted linking page', schema: Type.Object({ redirectUrl: Type.String() }) },
    409: { description: 'Identifier already linked', schema: errorResponses[400].schema },
    ...errorResponses,
  },
  errors: [...partnerAuthErrors, 'ER706', 'ER707', 'ER822', 'ER900'],
  async handler(request, reply, ctx) {
    const partner = await authenticatePartner(request, ctx);
    const body = readJsonBody(request, validate);
    if (!identifierPattern.test(body.identifier)) throw new HandoffError('ER707');
    if (!isAllowedReturnUrl(body.returnUrl, partner.settings.allowedReturnOrigins)) throw new HandoffError('ER822');
    if (await isIdentifierTaken(ctx.db, body.identifier)) throw new HandoffError('ER706');
    const token = randomToken(32);
    const nowMs = ctx.clock();
    await insertLinkRequest(ctx.db, {
      tokenHash: sha256Hex(token),
      identifier: body.identifier,
      partnerId: partner.partnerId,
      returnUrl: body.returnUrl,
      createdAt: new Date(nowMs),
      expiresAt: new Date(nowMs + linkRequestTtlSeconds * 1000),
    });
    auditPartnerApi(ctx, request, { action: 'identifier.register', outcome: 'success', partnerId: partner.partnerId });
    const redirectUrl = new URL('/private/link-identifier', ctx.config.publicUrl);
    redirectUrl.searchParams.set('request', token);
    return reply.send({ redirectUrl: redirectUrl.toString() });
  },
});
