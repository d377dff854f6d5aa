import { authenticatePartner } from '../../auth/partner-auth.ts';
import { authenticateUser, rejectIdentifier, soleUserIdentifier } from '../../auth/user-auth.ts';
import { randomToken, sha256Hex } from '../../crypto/random.ts';
import { HandoffError } from '../../errors/catalogue.ts';
import { compileValidator } from '../../schemas/validator.ts';
import { insertLoginToken, spendLoginToken } from '../../store/login-tokens.ts';
import { newRefreshToken, signAccessToken } from '../../tokens/session-tokens.ts';
import { readJsonBody } from '../json-body.ts';
import { defineRoute } from '../route.ts';
import { auditPartnerApi } from './audit.ts';
import {
  errorResponses,
  LoginTokenResponse,
  LoginWithTokenRequest,
  LoginWithTokenResponse,
  partnerAuthErrors,
  userAuthErrors,
} from './schemas.ts';

export const defaultLoginTokenTtlSeconds = 300;
export const maxLoginTokenTtlSeconds = 3600;

const validateLoginWithToken = compileValidator<LoginWithTokenRequest>(LoginWithTokenRequest);

/** `2019-06-06T16:16:16Z`: UTC to the second. */
const toExpiryDate = (date: Date) => `${date.toISOString().slice(0, 19)}Z`;

export const loginTokenRoute = defineRoute({
  method: 'GET',
  url: '/api/v1/user/login-token',
  surface: 'partner-api',
  summary: 'A one-time login token for the authenticated user, for the hosted private pages',
  tag: 'Login tokens',
  security: 'partner+user',
  responses: { 200: { description: 'One-time login token', schema: LoginTokenResponse }, ...errorResponses },
  errors: [...partnerAuthErrors, ...userAuthErrors],
  async handler(request, reply, ctx) {
    const partner = await authenticatePartner(request, ctx);
    const ttl = Math.min(partner.settings.loginTokenTtlSeconds ?? defaultLoginTokenTtlSeconds, maxLoginTokenTtlSeconds);
    const nowMs = ctx.clock();
    // Whole seconds, so expiryDate is exactly when the token stops working.
    const expiresAt = new Date((Math.floor(nowMs / 1000) + ttl) * 1000);
    const token = randomToken(32);
    let uuid: string;
    try {
      // By identifier alone (the common server-to-server call), the user lookup is part of the INSERT.
      const identifier = soleUserIdentifier(request);
      const user = identifier
        ? { identifier }
        : { participantId: (await authenticateUser(request, ctx, partner)).participant.uuid };
      const stored = await insertLoginToken(ctx.db, {
        tokenHash: sha256Hex(token),
        partnerId: partner.partnerId,
        user,
        createdAt: new Date(nowMs),
        expiresAt,
      });
      uuid = stored ?? (await rejectIdentifier(ctx, partner, identifier as string));
    } catch (error) {
      if (error instanceof HandoffError) {
        auditPartnerApi(ctx, request, {
          action: 'login_token.issue',
          outcome: 'rejected',
          reason: error.code,
          partnerId: partner.partnerId,
        });
      }
      throw error;
    }
    auditPartnerApi(ctx, request, {
      action: 'login_token.issue',
      outcome: 'success',
      partnerId: partner.partnerId,
      participantId: uuid,
      detail: { expires_at: toExpiryDate(expiresAt) },
    });
    ctx.metrics.tokensIssued.inc({ kind: 'login_token' });
    return reply.send({ uuid, token, expiryDate: toExpiryDate(expiresAt) });
  },
});

const spendFailures = { not_found: 'ER333', expired: 'ER334', no_user: 'ER335', partner_disabled: 'ER813' } as const;

export const loginWithTokenRoute = defineRoute({
  method: 'POST',
  url: '/api/v2/user/login-with-token',
  surface: 'partner-api',
  summary: 'Redeem a one-time login token for a user token pair (exactly once, across all instances)',
  tag: 'Login tokens',
  security: 'partner',
  body: LoginWithTokenRequest,
  responses: { 200: { description: 'User token pair', schema: LoginWithTokenResponse }, ...errorResponses },
  errors: [...partnerAuthErrors, 'ER333', 'ER334', 'ER335', 'ER900'],
  async handler(request, reply, ctx) {
    const partner = await authenticatePartner(request, ctx);
    const body = readJsonBody(request, validateLoginWithToken);
    const nowMs = ctx.clock();
    const subject = { kind: 'user', partnerId: partner.partnerId, participantId: body.uuid } as const;
    // The user's refresh token is stored by the spend itself: one statement, one round trip.
    const refresh = newRefreshToken(subject, nowMs);
    const result = await spendLoginToken(ctx.db, {
      tokenHash: sha256Hex(body.token),
      participantId: body.uuid,
      partnerId: partner.partnerId,
      now: new Date(nowMs),
      refresh: refresh.row,
    });
    if (!result.ok) {
      const code = spendFailures[result.reason];
      auditPartnerApi(ctx, request, {
        action: 'login_token.redeem',
        outcome: 'rejected',
        reason: code,
        partnerId: partner.partnerId,
      });
      throw new HandoffError(code);
    }
    const access = await signAccessToken(ctx, subject, refresh.row.familyId, nowMs);
    auditPartnerApi(ctx, request, {
      action: 'login_token.redeem',
      outcome: 'success',
      partnerId: partner.partnerId,
      participantId: result.token.participantId,
    });
    ctx.metrics.tokensRedeemed.inc({ kind: 'login_token' });
    return reply.send({ uuid: result.token.participantId, token: access.token, refreshToken: refresh.token });
  },
});
