import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parseConfig } from '../src/config.ts';

const masterKey = randomBytes(32).toString('base64');

function errorsOf(env: Record<string, string>): string[] {
  const parsed = parseConfig(env);
  assert.ok(parsed.errors, `expected ${JSON.stringify(env)} to be refused`);
  return parsed.errors;
}

describe('configuration from the environment (parseConfig)', () => {
  test('no configuration at all: the embedded default', () => {
    const { config, errors } = parseConfig({});
    assert.equal(errors, undefined);
    assert.ok(config);
    assert.equal(config.port, 8080);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.dataDir, path.resolve('.handoff'));
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.redisUrl, undefined);
    assert.equal(config.redisPrefix, 'handoff:');
    assert.equal(config.masterKey, undefined);
    assert.equal(config.publicUrl, 'http://127.0.0.1:8080');
    assert.equal(config.issuer, 'http://127.0.0.1:8080');
    assert.equal(config.audience, 'handoff-sdk');
    assert.equal(config.signingAlg, 'ES256');
    assert.equal(config.bodyLimitBytes, 16 * 1024);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.trustProxy, false);
  });

  test('participants are cached 60 s on either store (PostgreSQL announces changes), unless configured', () => {
    assert.equal(parseConfig({}).config?.participantCacheSeconds, 60);
    const postgres = { DATABASE_URL: 'postgres://u@db:5432/handoff', HANDOFF_MASTER_KEY: masterKey };
    assert.equal(parseConfig(postgres).config?.participantCacheSeconds, 60);
    assert.equal(parseConfig({ HANDOFF_PARTICIPANT_CACHE_SECONDS: '0' }).config?.participantCacheSeconds, 0);
    const configured = { ...postgres, HANDOFF_PARTICIPANT_CACHE_SECONDS: '30' };
    assert.equal(parseConfig(configured).config?.participantCacheSeconds, 30);
  });

  test("node's own NODE_OPTIONS is passed on as given (serve keeps an operator's heap settings)", () => {
    assert.equal(
      parseConfig({ NODE_OPTIONS: '--heap-growing-percent=20' }).config?.nodeOptions,
      '--heap-growing-percent=20',
    );
    assert.equal(parseConfig({}).config?.nodeOptions, undefined);
  });

  test('every documented variable is read', () => {
    const { config } = parseConfig({
      PORT: '9090',
      HOST: '0.0.0.0',
      HANDOFF_DATA_DIR: '/tmp/handoff-data',
      DATABASE_URL: 'postgres://u@db:5432/handoff',
      REDIS_URL: 'rediss://cache:6380',
      HANDOFF_REDIS_PREFIX: 'h1:',
      HANDOFF_PUBLIC_URL: 'https://tokens.example.com/',
      HANDOFF_ISSUER: 'https://issuer.example.com',
      HANDOFF_MASTER_KEY: masterKey,
      HANDOFF_SIGNING_ALG: 'RS256',
      HANDOFF_LOG_LEVEL: 'warn',
      HANDOFF_TRUST_PROXY: 'true',
    });
    assert.ok(config);
    assert.equal(config.port, 9090);
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.dataDir, '/tmp/handoff-data');
    assert.equal(config.databaseUrl, 'postgres://u@db:5432/handoff');
    assert.equal(config.redisUrl, 'rediss://cache:6380');
    assert.equal(config.redisPrefix, 'h1:');
    // A trailing slash is dropped, so URLs built from it have exactly one.
    assert.equal(config.publicUrl, 'https://tokens.example.com');
    assert.equal(config.issuer, 'https://issuer.example.com');
    assert.deepEqual(config.masterKey, Buffer.from(masterKey, 'base64'));
    assert.equal(config.signingAlg, 'RS256');
    assert.equal(config.logLevel, 'warn');
    assert.equal(config.trustProxy, true);
  });

  test('the issuer defaults to the public URL; an empty variable counts as unset', () => {
    const { config } = parseConfig({ HANDOFF_PUBLIC_URL: 'https://a.example', PORT: '', HANDOFF_SIGNING_ALG: '' });
    assert.equal(config?.issuer, 'https://a.example');
    assert.equal(config?.port, 8080);
    assert.equal(config?.signingAlg, 'ES256');
    assert.equal(parseConfig({ HANDOFF_SIGNING_ALG: 'EdDSA' }).config?.signingAlg, 'EdDSA');
  });

  const bad: Array<[string, string]> = [
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['DATABASE_URL', 'mysql://db/handoff'],
    ['DATABASE_URL', 'not a url'],
    ['REDIS_URL', 'http://cache:6379'],
    ['HANDOFF_PUBLIC_URL', 'tokens.example.com'],
    ['HANDOFF_PUBLIC_URL', 'ftp://tokens.example.com'],
    ['HANDOFF_ISSUER', 'issuer'],
    ['HANDOFF_MASTER_KEY', 'too-short'],
    ['HANDOFF_MASTER_KEY', randomBytes(16).toString('base64')],
    ['HANDOFF_MASTER_KEY', randomBytes(33).toString('base64')],
    ['HANDOFF_SIGNING_ALG', 'HS256'],
    ['HANDOFF_SIGNING_ALG', 'none'],
    ['HANDOFF_SIGNING_ALG', 'es256'],
    ['HANDOFF_LOG_LEVEL', 'loud'],
    ['HANDOFF_BODY_LIMIT', '10'],
    ['HANDOFF_TRUST_PROXY', 'yes'],
    ['HANDOFF_KEY_ACTIVATION_DELAY', 'soon'],
    ['HANDOFF_RATE_LIMIT_PER_MINUTE', '1e3'],
  ];
  for (const [name, value] of bad) {
    test(`${name}=${value.slice(0, 20)} → one message naming ${name}`, () => {
      const errors = errorsOf({ [name]: value, ...(name === 'DATABASE_URL' ? { HANDOFF_MASTER_KEY: masterKey } : {}) });
      assert.equal(errors.length, 1, errors.join('\n'));
      assert.ok(errors[0]?.startsWith(`${name}: `), errors[0]);
      assert.ok(!errors[0]?.includes('\n'));
    });
  }

  test('a bad value is echoed to help, except secrets: the master key and connection URLs', () => {
    assert.match(errorsOf({ PORT: 'abc' })[0] as string, /\(got "abc"\)$/);
    // A real key in the wrong alphabet (base64url) must not end up in the logs.
    const key = randomBytes(32).toString('base64url');
    const [keyError] = errorsOf({ HANDOFF_MASTER_KEY: key });
    assert.match(keyError as string, /^HANDOFF_MASTER_KEY: must be 32 bytes in base64/);
    assert.ok(!(keyError as string).includes(key.slice(0, 8)), keyError);
    const [dbError] = errorsOf({ DATABASE_URL: 'mysql://app:hunter2@db/handoff', HANDOFF_MASTER_KEY: masterKey });
    assert.ok(!(dbError as string).includes('hunter2'), dbError);
    const [redisError] = errorsOf({ REDIS_URL: 'http://:hunter2@cache:6379' });
    assert.ok(!(redisError as string).includes('hunter2'), redisError);
  });

  test('several bad variables → one message each', () => {
    const errors = errorsOf({ PORT: 'abc', HANDOFF_SIGNING_ALG: 'HS256', REDIS_URL: 'x' });
    assert.deepEqual(
      errors.map((e) => e.split(':')[0]),
      ['PORT', 'REDIS_URL', 'HANDOFF_SIGNING_ALG'],
    );
  });

  test('hosted-page session lifetimes: idle minutes may not exceed the maximum', () => {
    const ok = parseConfig({ HANDOFF_PAGE_SESSION_IDLE_MINUTES: '60', HANDOFF_PAGE_SESSION_MAX_HOURS: '1' });
    assert.deepEqual([ok.config?.pageSessionIdleMinutes, ok.config?.pageSessionMaxHours], [60, 1]);
    assert.deepEqual(errorsOf({ HANDOFF_PAGE_SESSION_IDLE_MINUTES: '61', HANDOFF_PAGE_SESSION_MAX_HOURS: '1' }), [
      'HANDOFF_PAGE_SESSION_IDLE_MINUTES: must not be longer than HANDOFF_PAGE_SESSION_MAX_HOURS (1 h)',
    ]);
    assert.match(errorsOf({ HANDOFF_PAGE_SESSION_MAX_HOURS: '0' })[0] as string, /^HANDOFF_PAGE_SESSION_MAX_HOURS: /);
  });

  test('DATABASE_URL without HANDOFF_MASTER_KEY is refused: every instance must open the sealed secrets', () => {
    const errors = errorsOf({ DATABASE_URL: 'postgres://u@db/handoff' });
    assert.equal(errors.length, 1);
    assert.match(errors[0] as string, /^HANDOFF_MASTER_KEY: required with DATABASE_URL/);
    const ok = parseConfig({ DATABASE_URL: 'postgresql://u@db/handoff', HANDOFF_MASTER_KEY: masterKey });
    assert.equal(ok.errors, undefined);
  });
});
