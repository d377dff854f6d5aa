import type { FastifyRequest } from 'fastify';
import type { AppContext } from '../context.ts';
import { HandoffError } from '../errors/catalogue.ts';
import { isTokenRevoked } from '../store/client-tokens.ts';
import { identifierPattern } from '../store/identifiers.ts';
import { findParticipantByIdentifier, findParticipantByUuid, type Participant } from '../store/participants.ts';
import { verifyToken } from '../tokens/jwt.ts';
import type { AuthenticatedPartner } from './partner-auth.ts';

export interface AuthenticatedUser {
  participant: Participant;
  /** Present when the user authenticated with a user token (logout needs it). */
  token: { jti: string; familyId: string; expiresAt: Date } | undefined;
}

const header = (request: FastifyRequest, name: string): string | undefined => {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
};

async function fromUserToken(ctx: AppContext, partner: AuthenticatedPartner, value: string) {
  const match = /^Bearer[ ]*(.*)$/i.exec(value.trim());
  const token = match ? (match[1] as string).trim() : value.trim();
  if (token === '') throw new HandoffError('ER700');
  const verified = await verifyToken(ctx.keyRing, 'user', token, { issuer: ctx.config.issuer, nowMs: ctx.clock() });
  if (!verified.ok) throw new HandoffError(verified.reason === 'expired' ? 'ER701' : 'ER702');
  const { claims } = verified;
  // Another partner's user token is as invalid as a forged one: its existence is never confirmed.
  if (claims.pid !== partner.partnerId) throw new HandoffError('ER702');
  if (await isTokenRevoked(ctx.db, claims.jti as string)) throw new HandoffError('ER702');
  const participant = await findParticipantByUuid(ctx.db, partner.partnerId, claims.sub as string);
  if (!participant) throw new HandoffError('ER702');
  if (participant.deleted) throw new HandoffError('ER709');
  return {
    participant,
    token: {
      jti: claims.jti as string,
      familyId: String(claims.fam),
      expiresAt: new Date((claims.exp as number) * 1000),
    },
  };
}

async function fromIdentifier(ctx: AppContext, partner: AuthenticatedPartner, identifier: string) {
  if (!identifierPattern.test(identifier)) throw new HandoffError('ER707');
  const participant = await findParticipantByIdentifier(ctx.db, partner.partnerId, identifier);
  if (!participant) throw new HandoffError('ER705');
  if (participant.deleted) throw new HandoffError('ER709');
  return participant;
}

/**
 * The `User-Identifier` when it is the request's only user credential, checked for syntax (ER707): a caller may
 * then resolve it inside its own statement and call `rejectIdentifier` when that finds no live user.
 */
export function soleUserIdentifier(request: FastifyRequest): string | undefined {
  const identifier = header(request, 'user-identifier');
  if (identifier === undefined || header(request, 'user-authorization') !== undefined) return undefined;
  if (!identifierPattern.test(identifier.trim())) throw new HandoffError('ER707');
  return identifier.trim();
}

/** Why a well-formed identifier names no live user of this partner: ER705 (unknown) or ER709 (deleted). */
export async function rejectIdentifier(
  ctx: AppContext,
  partner: AuthenticatedPartner,
  identifier: string,
): Promise<never> {
  await fromIdentifier(ctx, partner, identifier);
  // Live on this second read: linked after the statement looked. Refused as that statement saw it.
  throw new HandoffError('ER705');
}

/**
 * User authentication on top of partner authentication: `User-Authorization: Bearer <user JWT>` and/or
 * `User-Identifier`. Both must then name the same user (ER703); neither → ER704.
 */
export async function authenticateUser(
  request: FastifyRequest,
  ctx: AppContext,
  partner: AuthenticatedPartner,
): Promise<AuthenticatedUser> {
  const userAuthorization = header(request, 'user-authorization');
  const identifier = header(request, 'user-identifier');
  if (userAuthorization === undefined && identifier === undefined) throw new HandoffError('ER704');
  const byToken = userAuthorization === undefined ? undefined : await fromUserToken(ctx, partner, userAuthorization);
  const byIdentifier = identifier === undefined ? undefined : await fromIdentifier(ctx, partner, identifier.trim());
  if (byToken && byIdentifier && byToken.participant.uuid !== byIdentifier.uuid) throw new HandoffError('ER703');
  return { participant: (byToken?.participant ?? byIdentifier) as Participant, token: byToken?.token };
}
