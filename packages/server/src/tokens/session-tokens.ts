import { randomUUID } from 'node:crypto';
import type { AppContext } from '../context.ts';
import { randomToken, sha256Hex } from '../crypto/random.ts';
import { HandoffError } from '../errors/catalogue.ts';
import { insertRefreshToken, spendRefreshToken } from '../store/refresh-tokens.ts';
import { signToken } from './jwt.ts';

export const accessTokenTtlSeconds = 3600;
export const refreshTokenTtlSeconds = 30 * 24 * 3600;

export interface TokenPair {
  token: string;
  refreshToken: string;
  jti: string;
  familyId: string;
}

export type Subject =
  | { kind: 'partner'; partnerId: string; platformCode: string }
  | { kind: 'user'; partnerId: string; participantId: string };

/** A fresh refresh token and the row that stores it (by hash only). */
export function newRefreshToken(subject: Subject, nowMs: number, familyId: string = randomUUID()) {
  const token = randomToken(32);
  return {
    token,
    row: {
      tokenHash: sha256Hex(token),
      familyId,
      subject: subject.kind,
      partnerId: subject.partnerId,
      participantId: subject.kind === 'user' ? subject.participantId : null,
      createdAt: new Date(nowMs),
      expiresAt: new Date(nowMs + refreshTokenTtlSeconds * 1000),
    },
  };
}

/** The access JWT (1 h) of a token pair; it carries the family id so logout can revoke the family with it. */
export function signAccessToken(
  ctx: Pick<AppContext, 'keyRing' | 'config'>,
  subject: Subject,
  familyId: string,
  nowMs: number,
) {
  return signToken(ctx.keyRing, subject.kind, {
    issuer: ctx.config.issuer,
    subject: subject.kind === 'partner' ? subject.partnerId : subject.participantId,
    claims:
      subject.kind === 'partner'
        ? { platform_code: subject.platformCode, fam: familyId }
        : { pid: subject.partnerId, fam: familyId },
    nowMs,
    ttlSeconds: accessTokenTtlSeconds,
  });
}

/**
 * An access JWT (1 h) and a one-time refresh token (30 days, sliding: each rotation starts a new 30 days) in one
 * family.
 */
export async function issueTokenPair(
  ctx: Pick<AppContext, 'db' | 'keyRing' | 'config' | 'clock'>,
  subject: Subject,
  familyId: string = randomUUID(),
): Promise<TokenPair> {
  const nowMs = ctx.clock();
  const refresh = newRefreshToken(subject, nowMs, familyId);
  await insertRefreshToken(ctx.db, refresh.row);
  const signed = await signAccessToken(ctx, subject, familyId, nowMs);
  return { token: signed.token, refreshToken: refresh.token, jti: signed.jti, familyId };
}

/** Spends a refresh token (rotation) and says whose it was; failures are ER811 (invalid, reused) or ER812. */
export async function rotateRefreshToken(
  ctx: Pick<AppContext, 'db' | 'clock'>,
  refreshToken: string,
  kind: 'partner' | 'user',
) {
  const result = await spendRefreshToken(ctx.db, {
    tokenHash: sha256Hex(refreshToken),
    subject: kind,
    now: new Date(ctx.clock()),
  });
  if (!result.ok) throw new HandoffError(result.reason === 'expired' ? 'ER812' : 'ER811');
  return result.row;
}
