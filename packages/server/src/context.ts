import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AuditLog } from './audit/audit-log.ts';
import type { CredentialCache } from './auth/credential-cache.ts';
import type { RateLimiter } from './cache/rate-limiter.ts';
import type { ReplayGuard } from './cache/replay-guard.ts';
import type { Config } from './config.ts';
import type { KeyRing } from './crypto/signing-keys.ts';
import type { Metrics } from './metrics.ts';
import type { Db } from './store/database.ts';

/** Everything a request handler may use, built once by the composition root (server.ts). */
export interface AppContext {
  config: Config;
  db: Db;
  dbKind: 'postgres' | 'pglite';
  redis: Redis | undefined;
  masterKey: Buffer;
  keyRing: KeyRing;
  credentials: CredentialCache;
  replayGuard: ReplayGuard;
  rateLimiter: RateLimiter;
  audit: AuditLog;
  metrics: Metrics;
  logger: Logger;
  /** Milliseconds since the epoch; injectable so tests control time instead of sleeping. */
  clock: () => number;
}
