import type { FastifyRequest } from 'fastify';
import type { AppContext } from '../context.ts';
import { HandoffError } from '../errors/catalogue.ts';
import { isTokenRevoked } from '../store/client-tokens.ts';
import { findLinkedParticipantId, identifierPattern } from '../store/identifiers.ts';
import { findParticipantByUuid, type Participant } from '../store/participants.ts';
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
  const participantId = await findLinkedParticipantId(ctx.db, partner.partnerId, identifier);
  if (!participantId) throw new HandoffError('ER705');
  const participant = await findParticipantByUuid(ctx.db, partner.partnerId, participantId);
  if (!participant) throw new HandoffError('ER705');
  if (participant.deleted) throw new HandoffError('ER709');
  return participant;
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
