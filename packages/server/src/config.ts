import path from 'node:path';

export type SigningAlgorithm = 'ES256' | 'EdDSA' | 'RS256';
export const signingAlgorithms: readonly SigningAlgorithm[] = ['ES256', 'EdDSA', 'RS256'];

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  redisPrefix: string;
  publicUrl: string;
  issuer: string;
  audience: string;
  /** 32 bytes, from HANDOFF_MASTER_KEY; undefined = generate/read the key file in the data dir (embedded only). */
  masterKey: Buffer | undefined;
  signingAlg: SigningAlgorithm;
  bodyLimitBytes: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Seconds between publishing a rotated key in the JWKS and signing with it (covers JWKS caches). */
  keyActivationDelaySeconds: number;
  /** How often each instance reloads the signing keys from the store. */
  keyRefreshSeconds: number;
  credentialCacheSeconds: number;
  participantCacheSeconds: number;
  /** node's own NODE_OPTIONS, as given: read only so that an operator's V8 heap settings are kept. */
  nodeOptions: string | undefined;
  trustProxy: boolean;
  /** Requests per minute per HMAC credential (0 = no limit). */
  rateLimitPerMinute: number;
  /** HMAC requests per minute per partner, all its credentials together (0 = no limit). */
  partnerRateLimitPerMinute: number;
  /** HMAC-surface requests per minute per client IP, counted before authentication (0 = no limit). */
  ipRateLimitPerMinute: number;
  /** Audit events older than this many days are deleted by `handoff prune` (0 = kept forever). */
  auditRetentionDays: number;
  databasePoolSize: number;
  /** Connection and statement timeout towards PostgreSQL and Redis, so a dead dependency answers 503 quickly. */
  dependencyTimeoutMs: number;
  /** Hosted-page sessions end after this many idle minutes… */
  pageSessionIdleMinutes: number;
  /** …or this many hours after sign-in, whichever comes first. */
  pageSessionMaxHours: number;
}

type Env = Readonly<Record<string, string | undefined>>;
type Parser<T> = (raw: string) => T | { error: string };

const integer =
  (min: number, max: number): Parser<number> =>
  (raw) => {
    if (!/^\d+$/.test(raw)) return { error: `must be a whole number between ${min} and ${max}` };
    const n = Number(raw);
    return n >= min && n <= max ? n : { error: `must be between ${min} and ${max}` };
  };

const url =
  (protocols: readonly string[]): Parser<string> =>
  (raw) => {
    try {
      const u = new URL(raw);
      if (!protocols.includes(u.protocol)) return { error: `must use ${protocols.join(' or ')}` };
      return raw;
    } catch {
      return { error: 'must be an absolute URL' };
    }
  };

const oneOf =
  <T extends string>(values: readonly T[]): Parser<T> =>
  (raw) =>
    (values as readonly string[]).includes(raw) ? (raw as T) : { error: `must be one of ${values.join(', ')}` };

const masterKey: Parser<Buffer> = (raw) => {
  const key = Buffer.from(raw, 'base64');
  if (key.length !== 32 || key.toString('base64') !== raw.replace(/\s/g, '')) {
    return { error: 'must be 32 bytes in base64 (generate one with: openssl rand -base64 32)' };
  }
  return key;
};

const boolean: Parser<boolean> = (raw) =>
  raw === 'true' || raw === '1' ? true : raw === 'false' || raw === '0' ? false : { error: 'must be true or false' };

const text: Parser<string> = (raw) => (raw.length > 0 ? raw : { error: 'must not be empty' });

const secretVariables = new Set(['HANDOFF_MASTER_KEY', 'DATABASE_URL', 'REDIS_URL']);

/**
 * Turns the environment into a typed config, or into one clear message per bad variable.
 * The only place that reads configuration; everything else receives the result.
 */
export function parseConfig(env: Env): { config: Config; errors?: never } | { config?: never; errors: string[] } {
  const errors: string[] = [];
  function read<T>(name: string, parser: Parser<T>, fallback: T): T;
  function read<T>(name: string, parser: Parser<T>, fallback?: undefined): T | undefined;
  function read<T>(name: string, parser: Parser<T>, fallback?: T): T | undefined {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = parser(raw.trim());
    if (typeof value === 'object' && value !== null && 'error' in value) {
      // The master key and connection URLs (which may carry passwords) are never echoed into logs.
      const shown = secretVariables.has(name) ? '' : ` (got ${JSON.stringify(raw.slice(0, 80))})`;
      errors.push(`${name}: ${(value as { error: string }).error}${shown}`);
      return fallback;
    }
    return value as T;
  }

  const port = read('PORT', integer(0, 65535), 8080);
  const host = read('HOST', text, '127.0.0.1');
  const databaseUrl = read('DATABASE_URL', url(['postgres:', 'postgresql:']));
  const publicUrl = (read('HANDOFF_PUBLIC_URL', url(['http:', 'https:'])) ?? `http://${host}:${port}`).replace(
    /\/+$/,
    '',
  );
  const config: Config = {
    port,
    host,
    dataDir: path.resolve(read('HANDOFF_DATA_DIR', text, './.handoff')),
    databaseUrl,
    redisUrl: read('REDIS_URL', url(['redis:', 'rediss:'])),
    redisPrefix: read('HANDOFF_REDIS_PREFIX', text, 'handoff:'),
    publicUrl,
    issuer: read('HANDOFF_ISSUER', url(['http:', 'https:']), publicUrl),
    audience: read('HANDOFF_AUDIENCE', text, 'handoff-sdk'),
    masterKey: read('HANDOFF_MASTER_KEY', masterKey),
    signingAlg: read('HANDOFF_SIGNING_ALG', oneOf(signingAlgorithms), 'ES256'),
    bodyLimitBytes: read('HANDOFF_BODY_LIMIT', integer(1024, 1024 * 1024), 16 * 1024),
    logLevel: read('HANDOFF_LOG_LEVEL', oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), 'info'),
    keyActivationDelaySeconds: read('HANDOFF_KEY_ACTIVATION_DELAY', integer(0, 86_400), 600),
    keyRefreshSeconds: read('HANDOFF_KEY_REFRESH_SECONDS', integer(1, 3600), 30),
    credentialCacheSeconds: read('HANDOFF_CREDENTIAL_CACHE_SECONDS', integer(0, 300), 5),
    // The embedded store has one writer, the serving process, which never changes a participant's status or
    // deletes one. PostgreSQL has other writers, but announces each change as it commits (migration 0004), and
    // the cache is bypassed while those announcements cannot arrive: the TTL only bounds a silent failure.
    participantCacheSeconds: read('HANDOFF_PARTICIPANT_CACHE_SECONDS', integer(0, 300), 60),
    nodeOptions: env.NODE_OPTIONS,
    trustProxy: read('HANDOFF_TRUST_PROXY', boolean, false),
    rateLimitPerMinute: read('HANDOFF_RATE_LIMIT_PER_MINUTE', integer(0, 10_000_000), 6000),
    partnerRateLimitPerMinute: read('HANDOFF_PARTNER_RATE_LIMIT_PER_MINUTE', integer(0, 10_000_000), 30_000),
    ipRateLimitPerMinute: read('HANDOFF_IP_RATE_LIMIT_PER_MINUTE', integer(0, 10_000_000), 60_000),
    auditRetentionDays: read('HANDOFF_AUDIT_RETENTION_DAYS', integer(0, 36_500), 365),
    databasePoolSize: read('HANDOFF_DATABASE_POOL_SIZE', integer(1, 500), 10),
    dependencyTimeoutMs: read('HANDOFF_DEPENDENCY_TIMEOUT_MS', integer(100, 60_000), 2000),
    pageSessionIdleMinutes: read('HANDOFF_PAGE_SESSION_IDLE_MINUTES', integer(1, 24 * 60), 30),
    pageSessionMaxHours: read('HANDOFF_PAGE_SESSION_MAX_HOURS', integer(1, 7 * 24), 12),
  };
  if (config.pageSessionIdleMinutes > config.pageSessionMaxHours * 60) {
    errors.push(
      `HANDOFF_PAGE_SESSION_IDLE_MINUTES: must not be longer than HANDOFF_PAGE_SESSION_MAX_HOURS (${config.pageSessionMaxHours} h)`,
    );
  }
  if (config.databaseUrl && !config.masterKey) {
    errors.push(
      'HANDOFF_MASTER_KEY: required with DATABASE_URL, so every instance can open the sealed secrets (generate one with: openssl rand -base64 32)',
    );
  }
  return errors.length > 0 ? { errors } : { config };
}
