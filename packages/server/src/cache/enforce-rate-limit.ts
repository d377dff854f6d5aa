import type { AppContext } from '../context.ts';
import { HandoffError } from '../errors/catalogue.ts';

/** Counts one hit against `key`; over `limit` per `windowMs` answers 429 with Retry-After on any surface. */
export async function enforceRateLimit(
  ctx: Pick<AppContext, 'rateLimiter'>,
  key: string,
  limit: number,
  windowMs = 60_000,
): Promise<void> {
  if (limit <= 0) return;
  const result = await ctx.rateLimiter.hit(key, limit, windowMs);
  if (!result.allowed) throw new HandoffError('rate_limited', { retryAfter: result.retryAfterSeconds });
}
