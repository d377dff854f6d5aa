import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AuditLog } from './audit/audit-log.ts';
import type { LookupCache } from './cache/lookup-cache.ts';
import type { OverLimitMemo } from './cache/over-limit-memo.ts';
import type { RateLimiter } from './cache/rate-limiter.ts';
import type { ReplayGuard } from './cache/replay-guard.ts';
import type { Config } from './config.ts';
import type { KeyRing } from './crypto/signing-keys.ts';
import type { Metrics } from './metrics.ts';
import type { ApiKeyOwner } from './store/api-keys.ts';
import type { HmacCredential } from './store/credentials.ts';
import type { Db } from './store/database.ts';
import type { Participant } from './store/participants.ts';

/** Everything a request handler may use, built once by the composition root (server.ts). */
export interface AppContext {
  config: Config;
  db: Db;
  dbKind: 'postgres' | 'pglite';
  redis: Redis | undefined;
  masterKey: Buffer;
  keyRing: KeyRing;
  /** HMAC credentials by API key (the client-token surface). */
  credentials: LookupCache<HmacCredential>;
  /** Partner API keys by their SHA-256 (the partner API's `X-Api-Key`). */
  apiKeys: LookupCache<ApiKeyOwner>;
  /** Live participants by `participantKey(partner, code)` (the client-token surface). */
  participants: LookupCache<Participant>;
  replayGuard: ReplayGuard;
  /** Rate-limit keys seen over their limit, refused without a round trip until their window ends. */
  overLimit: OverLimitMemo;
  rateLimiter: RateLimiter;
  audit: AuditLog;
  metrics: Metrics;
  logger: Logger;
  /** Milliseconds since the epoch; injectable so tests control time instead of sleeping. */
  clock: () => number;
}
