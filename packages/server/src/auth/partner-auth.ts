import type { FastifyRequest } from 'fastify';
import type { AppContext } from '../context.ts';
import { sha256Hex } from '../crypto/random.ts';
import { HandoffError } from '../errors/catalogue.ts';
import { touchApiKey } from '../store/api-keys.ts';
import { findPartnerById } from '../store/partners.ts';
import type { PartnerSettings } from '../store/schema.ts';
import { verifyToken } from '../tokens/jwt.ts';

export interface AuthenticatedPartner {
  partnerId: string;
  platformCode: string;
  settings: PartnerSettings;
  method: 'bearer' | 'api-key';
  apiKeyId: string | null;
}

const header = (request: FastifyRequest, name: string): string | undefined => {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
};

/**
 * Partner authentication: exactly one of `Authorization: Bearer <partner JWT>` or `X-Api-Key`.
 * Neither → ER802, both → ER803; bad bearer → ER800, expired → ER801; empty key → ER806, unknown/revoked → ER805.
 */
export async function authenticatePartner(request: FastifyRequest, ctx: AppContext): Promise<AuthenticatedPartner> {
  const authorization = header(request, 'authorization')?.trim();
  const apiKey = header(request, 'x-api-key');
  const hasBearer = authorization !== undefined && authorization !== '';
  if (hasBearer && apiKey !== undefined) throw new HandoffError('ER803');
  if (!hasBearer && apiKey === undefined) throw new HandoffError('ER802');

  if (apiKey !== undefined) {
    if (apiKey.trim() === '') throw new HandoffError('ER806');
    const owner = await ctx.apiKeys.get(sha256Hex(apiKey.trim()));
    if (!owner || owner.revoked) throw new HandoffError('ER805');
    if (owner.partnerStatus !== 'active') throw new HandoffError('ER813');
    const now = new Date(ctx.clock());
    if (!owner.lastUsedAt || now.getTime() - owner.lastUsedAt.getTime() > 60_000) {
      // The cached entry remembers the touch, so a cached key is written at most once a minute per instance.
      owner.lastUsedAt = now;
      // Bookkeeping only: a failure here must not fail the request.
      touchApiKey(ctx.db, owner.apiKeyId, now).catch((error: unknown) =>
        request.log.warn({ err: error }, 'could not record API key use'),
      );
    }
    return {
      partnerId: owner.partnerId,
      platformCode: owner.platformCode,
      settings: owner.settings,
      method: 'api-key',
      apiKeyId: owner.apiKeyId,
    };
  }

  const match = /^Bearer[ ]+([A-Za-z0-9_.-]+)$/i.exec(authorization as string);
  if (!match) throw new HandoffError('ER800');
  const verified = await verifyToken(ctx.keyRing, 'partner', match[1] as string, {
    issuer: ctx.config.issuer,
    nowMs: ctx.clock(),
  });
  if (!verified.ok) throw new HandoffError(verified.reason === 'expired' ? 'ER801' : 'ER800');
  const partner = await findPartnerById(ctx.db, verified.claims.sub as string);
  if (!partner) throw new HandoffError('ER800');
  if (partner.status !== 'active') throw new HandoffError('ER813');
  return {
    partnerId: partner.id,
    platformCode: partner.platformCode,
    settings: partner.settings,
    method: 'bearer',
    apiKeyId: null,
  };
}
