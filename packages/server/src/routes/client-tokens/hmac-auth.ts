import type { FastifyRequest } from 'fastify';
import { authenticateHmacRequest, HmacRejection } from '../../auth/hmac-request.ts';
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

const minute = 60_000;

/**
 * Authenticates an HMAC-surface request and applies the rate limits. Every request counts once against its client
 * IP: with the replay claim and the credential's counters (one Redis call) when it gets that far, else on the way
 * out. An IP this instance has seen over its limit is refused for the rest of the window before any lookup, so a
 * flood costs neither a credential lookup nor a Redis call. Rejections are audited and counted by reason.
 */
export async function requireHmacCredential(
  request: FastifyRequest,
  ctx: AppContext,
  action: string,
): Promise<HmacCredential> {
  const ip = { key: `hmac:ip:${request.ip}`, limit: ctx.config.ipRateLimitPerMinute, windowMs: minute };
  try {
    const refused = ctx.overLimit.retryAfter(ip.key);
    if (refused !== undefined) throw new HandoffError('rate_limited', { retryAfter: refused });
    return await authenticateHmacRequest(
      { headers: request.headers, method: request.method, url: request.url, rawBody: request.rawBody },
      ctx,
      (identified) => [ip, ...credentialLimits(ctx, identified)],
    );
  } catch (caught) {
    const error = await countRejectedIp(ctx, ip, caught);
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
}

/**
 * A request refused before its admission was counted (no credential, bad signature, replay…) counts against its IP
 * here; over the limit, the answer becomes 429. One over the limit at admission is remembered for the window.
 */
async function countRejectedIp(ctx: AppContext, ip: AdmissionCounter, error: unknown): Promise<unknown> {
  if (!(error instanceof HandoffError)) return error;
  if (error.code === 'rate_limited') {
    if (error instanceof HmacRejection && error.overLimit.includes(ip.key)) ctx.overLimit.remember(ip.key, ip.windowMs);
    return error;
  }
  if (error.code === 'unavailable' || ip.limit <= 0) return error;
  const hit = await ctx.rateLimiter.hit(ip.key, ip.limit, ip.windowMs).catch(() => undefined);
  if (hit === undefined || hit.allowed) return error;
  ctx.overLimit.remember(ip.key, ip.windowMs);
  const limited = new HmacRejection('rate_limited', { retryAfter: hit.retryAfterSeconds });
  limited.credential = error instanceof HmacRejection ? error.credential : undefined;
  return limited;
}
