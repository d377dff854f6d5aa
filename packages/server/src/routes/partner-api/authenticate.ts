import { enforceRateLimit } from '../../cache/enforce-rate-limit.ts';
import { verifyDecoyPassword, verifyPassword } from '../../crypto/passwords.ts';
import { HandoffError } from '../../errors/catalogue.ts';
import { compileValidator } from '../../schemas/validator.ts';
import { findPartnerById, findPartnerLogin } from '../../store/partners.ts';
import { issueTokenPair, rotateRefreshToken } from '../../tokens/session-tokens.ts';
import { readJsonBody } from '../json-body.ts';
import { defineRoute } from '../route.ts';
import { auditPartnerApi } from './audit.ts';
import { AuthenticateRequest, errorResponses, RefreshRequest, TokenPairResponse } from './schemas.ts';

const validateAuthenticate = compileValidator<AuthenticateRequest>(AuthenticateRequest);
const validateRefresh = compileValidator<RefreshRequest>(RefreshRequest);

/** Login attempts per username and per IP per minute; failures and successes alike count. */
export const loginAttemptsPerMinute = { perAccount: 10, perIp: 60 };

export const authenticateRoute = defineRoute({
  method: 'POST',
  url: '/api/v1/authenticate',
  surface: 'partner-api',
  summary: 'Partner login: username and password for a partner JWT (1 h) and a refresh token',
  tag: 'Partner authentication',
  body: AuthenticateRequest,
  responses: { 200: { description: 'Token pair', schema: TokenPairResponse }, ...errorResponses },
  errors: ['ER810', 'ER813', 'ER900', 'ER901', 'ER902', 'ER904', 'ER950', 'ER999'],
  async handler(request, reply, ctx) {
    const body = readJsonBody(request, validateAuthenticate);
    await enforceRateLimit(ctx, `login:ip:${request.ip}`, loginAttemptsPerMinute.perIp);
    await enforceRateLimit(ctx, `login:partner:${body.username.toLowerCase()}`, loginAttemptsPerMinute.perAccount);
    const partner = await findPartnerLogin(ctx.db, body.username);
    // The same work and the same answer whether or not the username exists.
    const valid = partner
      ? await verifyPassword(body.password, partner.passwordHash)
      : await verifyDecoyPassword(body.password);
    if (!partner || !valid) {
      auditPartnerApi(ctx, request, {
        action: 'partner.authenticate',
        outcome: 'rejected',
        reason: 'ER810',
        partnerId: partner?.id ?? null,
      });
      throw new HandoffError('ER810');
    }
    if (partner.status !== 'active') throw new HandoffError('ER813');
    const pair = await issueTokenPair(ctx, {
      kind: 'partner',
      partnerId: partner.id,
      platformCode: partner.platformCode,
    });
    auditPartnerApi(ctx, request, { action: 'partner.authenticate', outcome: 'success', partnerId: partner.id });
    ctx.metrics.tokensIssued.inc({ kind: 'partner_token' });
    return reply.send({ token: pair.token, refreshToken: pair.refreshToken });
  },
});

export const refreshRoute = defineRoute({
  method: 'POST',
  url: '/api/v1/refresh',
  surface: 'partner-api',
  summary: 'Rotate a partner refresh token for a new token pair (reuse of a spent one revokes its family)',
  tag: 'Partner authentication',
  body: RefreshRequest,
  responses: { 200: { description: 'Token pair', schema: TokenPairResponse }, ...errorResponses },
  errors: ['ER811', 'ER812', 'ER813', 'ER900', 'ER901', 'ER902', 'ER904', 'ER950', 'ER999'],
  async handler(request, reply, ctx) {
    const { refreshToken } = readJsonBody(request, validateRefresh);
    await enforceRateLimit(ctx, `refresh:ip:${request.ip}`, loginAttemptsPerMinute.perIp * 10);
    let row: Awaited<ReturnType<typeof rotateRefreshToken>>;
    try {
      row = await rotateRefreshToken(ctx, refreshToken, 'partner');
    } catch (error) {
      if (error instanceof HandoffError) {
        auditPartnerApi(ctx, request, { action: 'partner.refresh', outcome: 'rejected', reason: error.code });
      }
      throw error;
    }
    const partner = await findPartnerById(ctx.db, row.partnerId);
    if (partner?.status !== 'active') throw new HandoffError('ER813');
    const pair = await issueTokenPair(
      ctx,
      { kind: 'partner', partnerId: partner.id, platformCode: partner.platformCode },
      row.familyId,
    );
    auditPartnerApi(ctx, request, { action: 'partner.refresh', outcome: 'success', partnerId: partner.id });
    return reply.send({ token: pair.token, refreshToken: pair.refreshToken });
  },
});
