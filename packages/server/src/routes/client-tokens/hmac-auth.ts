import type { FastifyRequest } from 'fastify';
import { authenticateHmacRequest, HmacRejection } from '../../auth/hmac-request.ts';
import { enforceRateLimit } from '../../cache/enforce-rate-limit.ts';
import type { AdmissionCounter } from '../../cache/replay-guard.ts';
import type { AppContext } from '../../context.ts';
import { HandoffError } from '../../errors/catalogue.ts';
import type { HmacCredential } from '../../store/credentials.ts';

/**
 * Per credential (the partner's `rateLimitPerMinute`, else the server default) and per partner, all its credentials
 * together, so minting more credentials does not multiply a partner's budget (never below one credential's limit).
 * Counted with the replay claim, in one Redis call, only for a request whose signature is valid and fresh.
 */
function credentialLimits(ctx: AppContext, credential: HmacCredential): AdmissionCounter[] {
  const { rateLimitPerMinute } = credential.partnerSettings;
  const perPartner = ctx.config.partnerRateLimitPerMinute;
  return [
    { key: `hmac:${credential.id}`, limit: rateLimitPerMinute ?? ctx.config.rateLimitPerMinute, windowMs: 60_000 },
    {
      key: `hmac:partner:${credential.partnerId}`,
      limit: perPartner && Math.max(perPartner, rateLimitPerMinute ?? 0),
      windowMs: 60_000,
    },
  ];
}

/**
 * Authenticates an HMAC-surface request and applies the rate limits: per client IP first (before any lookup, so a
 * flood costs one counter per request), then per credential and per partner with the replay claim. Rejections are
 * audited and counted by reason before they propagate to the renderer.
 */
export async function requireHmacCredential(
  request: FastifyRequest,
  ctx: AppContext,
  action: string,
): Promise<HmacCredential> {
  let credential: HmacCredential;
  try {
    await enforceRateLimit(ctx, `hmac:ip:${request.ip}`, ctx.config.ipRateLimitPerMinute);
    credential = await authenticateHmacRequest(
      { headers: request.headers, method: request.method, url: request.url, rawBody: request.rawBody },
      ctx,
      (identified) => credentialLimits(ctx, identified),
    );
  } catch (error) {
    if (error instanceof HandoffError) {
      const rejected = error instanceof HmacRejection ? error.credential : undefined;
      ctx.audit.record({
        at: new Date(ctx.clock()),
        surface: 'client-token',
        action,
        outcome: 'rejected',
        reason: error.code,
        partnerId: rejected?.partnerId ?? null,
        credentialId: rejected?.id ?? null,
        requestId: request.id,
        ip: request.ip,
      });
    }
    throw error;
  }
  return credential;
}
