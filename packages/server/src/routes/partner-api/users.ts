import { authenticatePartner } from '../../auth/partner-auth.ts';
import { authenticateUser } from '../../auth/user-auth.ts';
import { enforceRateLimit } from '../../cache/enforce-rate-limit.ts';
import { hashPassword, verifyDecoyPassword, verifyPassword } from '../../crypto/passwords.ts';
import { HandoffError } from '../../errors/catalogue.ts';
import { compileValidator } from '../../schemas/validator.ts';
import { revokeToken } from '../../store/client-tokens.ts';
import { findIdentifierOf } from '../../store/identifiers.ts';
import {
  DuplicateParticipantError,
  findParticipantByEmail,
  findParticipantByUuid,
  insertParticipant,
} from '../../store/participants.ts';
import { revokeRefreshFamily } from '../../store/refresh-tokens.ts';
import { issueTokenPair, rotateRefreshToken } from '../../tokens/session-tokens.ts';
import { readJsonBody } from '../json-body.ts';
import { defineRoute } from '../route.ts';
import { auditPartnerApi } from './audit.ts';
import { loginAttemptsPerMinute } from './authenticate.ts';
import {
  ApiErrorResponse,
  CreateUserRequest,
  errorResponses,
  partnerAuthErrors,
  RefreshRequest,
  TokenPairResponse,
  UserLoginRequest,
  UserLoginResponse,
  UserResponse,
  userAuthErrors,
} from './schemas.ts';

const validateCreate = compileValidator<CreateUserRequest>(CreateUserRequest);
const validateLogin = compileValidator<UserLoginRequest>(UserLoginRequest);
const validateRefresh = compileValidator<RefreshRequest>(RefreshRequest);

export const createUserRoute = defineRoute({
  method: 'POST',
  url: '/api/v1/user',
  surface: 'partner-api',
  summary: 'Create an end user of the calling partner (status "submitted" until verified)',
  tag: 'Users',
  security: 'partner',
  body: CreateUserRequest,
  responses: {
    201: { description: 'Created', schema: UserResponse },
    409: { description: 'Email address already used', schema: ApiErrorResponse },
    ...errorResponses,
  },
  errors: [...partnerAuthErrors, 'ER821', 'ER900'],
  async handler(request, reply, ctx) {
    const partner = await authenticatePartner(request, ctx);
    const body = readJsonBody(request, validateCreate);
    try {
      const participant = await insertParticipant(ctx.db, {
        partnerId: partner.partnerId,
        email: body.emailAddress,
        phoneNumber: body.phoneNumber ?? null,
        status: 'submitted',
        passwordHash: body.password ? await hashPassword(body.password) : null,
        firstName: body.firstName ?? null,
        lastName: body.lastName ?? null,
      });
      auditPartnerApi(ctx, request, {
        action: 'user.create',
        outcome: 'success',
        partnerId: partner.partnerId,
        participantId: participant.uuid,
      });
      return reply.code(201).send({
        uuid: participant.uuid,
        participantCode: participant.participantCode,
        emailAddress: participant.email,
        status: participant.status,
      });
    } catch (error) {
      if (error instanceof DuplicateParticipantError) throw new HandoffError('ER821');
      throw error;
    }
  },
});

export const userLoginRoute = defineRoute({
  method: 'POST',
  url: '/api/v1/user/login',
  surface: 'partner-api',
  summary: "Log an end user in with email and password: a user JWT (1 h), a refresh token and the user's identifier",
  tag: 'Users',
  security: 'partner',
  body: UserLoginRequest,
  responses: { 200: { description: 'User token pair', schema: UserLoginResponse }, ...errorResponses },
  errors: [...partnerAuthErrors, 'ER820', 'ER900'],
  async handler(request, reply, ctx) {
    const partner = await authenticatePartner(request, ctx);
    const body = readJsonBody(request, validateLogin);
    await enforceRateLimit(ctx, `login:ip:${request.ip}`, loginAttemptsPerMinute.perIp);
    await enforceRateLimit(
      ctx,
      `login:user:${partner.partnerId}:${body.emailAddress.toLowerCase()}`,
      loginAttemptsPerMinute.perAccount,
    );
    const user = await findParticipantByEmail(ctx.db, partner.partnerId, body.emailAddress);
    const valid = user?.passwordHash
      ? await verifyPassword(body.password, user.passwordHash)
      : await verifyDecoyPassword(body.password);
    if (!user || !valid || user.kind === 'platform') {
      auditPartnerApi(ctx, request, {
        action: 'user.login',
        outcome: 'rejected',
        reason: 'ER820',
        partnerId: partner.partnerId,
        participantId: user?.uuid ?? null,
      });
      throw new HandoffError('ER820');
    }
    const pair = await issueTokenPair(ctx, { kind: 'user', partnerId: partner.partnerId, participantId: user.uuid });
    const identifier = await findIdentifierOf(ctx.db, partner.partnerId, user.uuid);
    auditPartnerApi(ctx, request, {
      action: 'user.login',
      outcome: 'success',
      partnerId: partner.partnerId,
      participantId: user.uuid,
    });
    ctx.metrics.tokensIssued.inc({ kind: 'user_token' });
    return reply.send({
      token: pair.token,
      refreshToken: pair.refreshToken,
      ...(identifier ? { identifier } : {}),
    });
  },
});

export const userRefreshRoute = defineRoute({
  method: 'POST',
  url: '/api/v1/user/refresh',
  surface: 'partner-api',
  summary: 'Rotate a user refresh token for a new user token pair (reuse of a spent one revokes its family)',
  tag: 'Users',
  security: 'partner',
  body: RefreshRequest,
  responses: { 200: { description: 'User token pair', schema: TokenPairResponse }, ...errorResponses },
  errors: [...partnerAuthErrors, 'ER811', 'ER812', 'ER709', 'ER900'],
  async handler(request, reply, ctx) {
    const partner = await authenticatePartner(request, ctx);
    const { refreshToken } = readJsonBody(request, validateRefresh);
    const row = await rotateRefreshToken(ctx, refreshToken, 'user').catch((error: unknown) => {
      if (error instanceof HandoffError) {
        auditPartnerApi(ctx, request, {
          action: 'user.refresh',
          outcome: 'rejected',
          reason: error.code,
          partnerId: partner.partnerId,
        });
      }
      throw error;
    });
    // Another partner's refresh token is as unknown as a forged one (it has been spent: revoke its family).
    if (row.partnerId !== partner.partnerId || !row.participantId) {
      await revokeRefreshFamily(ctx.db, row.familyId, new Date(ctx.clock()));
      throw new HandoffError('ER811');
    }
    const user = await findParticipantByUuid(ctx.db, partner.partnerId, row.participantId);
    if (!user || user.deleted) throw new HandoffError('ER709');
    const pair = await issueTokenPair(
      ctx,
      { kind: 'user', partnerId: partner.partnerId, participantId: user.uuid },
      row.familyId,
    );
    auditPartnerApi(ctx, request, {
      action: 'user.refresh',
      outcome: 'success',
      partnerId: partner.partnerId,
      participantId: user.uuid,
    });
    return reply.send({ token: pair.token, refreshToken: pair.refreshToken });
  },
});

export const userLogoutRoute = defineRoute({
  method: 'POST',
  url: '/api/v1/user/logout',
  surface: 'partner-api',
  summary: 'Revoke the user token (User-Authorization) and its refresh-token family',
  tag: 'Users',
  security: 'partner+user',
  responses: { 204: { description: 'Logged out' }, ...errorResponses },
  errors: [...partnerAuthErrors, ...userAuthErrors],
  async handler(request, reply, ctx) {
    const partner = await authenticatePartner(request, ctx);
    if (request.headers['user-authorization'] === undefined) throw new HandoffError('ER700');
    const user = await authenticateUser(request, ctx, partner);
    const token = user.token as NonNullable<typeof user.token>;
    const now = new Date(ctx.clock());
    await revokeToken(ctx.db, { jti: token.jti, partnerId: partner.partnerId, expiresAt: token.expiresAt });
    await revokeRefreshFamily(ctx.db, token.familyId, now);
    auditPartnerApi(ctx, request, {
      action: 'user.logout',
      outcome: 'success',
      partnerId: partner.partnerId,
      participantId: user.participant.uuid,
    });
    return reply.code(204).send();
  },
});
