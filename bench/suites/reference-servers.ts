import { signHeaders } from '../../packages/server/test/partner-signing.ts';
import { type Fixtures, type HandoffServer, startScript } from '../lib/handoff.ts';
import { type BenchSettings, type LoadTarget, measure } from '../lib/measure.ts';
import type { Row } from '../lib/report.ts';
import { fixedPool, type RequestSpec, SignedRequestSource } from '../lib/requests.ts';
import { checkOidcToken, expect, send } from '../lib/verify.ts';
import { checkClientTokens, clientTokenTarget } from './handoff-servers.ts';

/** A reference server, its answer checked, ready to load. */
export interface ReferenceServer {
  server: HandoffServer;
  target: LoadTarget;
}

/** The server, ready to load with one fixed request once `check` has verified its answer; stopped if it fails. */
async function readyReference(
  server: HandoffServer,
  request: RequestSpec,
  check: () => Promise<void>,
): Promise<ReferenceServer> {
  try {
    await check();
  } catch (error) {
    await server.process.stop();
    throw error;
  }
  return {
    server,
    target: { origins: [server.origin], pids: [server.process.pid], pool: () => fixedPool(request) },
  };
}

/** The ceiling: the same request bytes as a signed client_auth_token call, answered with a fixed JSON. */
export async function startBareHttp(): Promise<ReferenceServer> {
  const server = await startScript('bare node:http', 'bare-http.ts', {});
  const body = '{"participant_code":"ABC123","permissions":["crypto-buy","crypto-sell"]}';
  const credential = {
    api_key: 'x'.repeat(24),
    secret: Buffer.alloc(32).toString('base64'),
    passphrase: 'y'.repeat(32),
  };
  const request: RequestSpec = {
    method: 'POST',
    path: '/client_auth_token',
    headers: {
      'Content-Type': 'application/json',
      ...signHeaders(credential, 'POST', '/client_auth_token', body, 0),
    },
    body,
  };
  return readyReference(server, request, async () => {
    const answer = await send(server.origin, request);
    expect(
      answer.status === 201 && typeof answer.json?.message === 'object',
      `bare node:http answered ${answer.status}`,
    );
  });
}

const resource = 'https://api.bench.test';

/** The peer: node-oidc-provider, client_credentials grant, ES256 JWT access tokens, in memory. */
export async function startOidcPeer(): Promise<ReferenceServer> {
  const server = await startScript(
    'node-oidc-provider',
    'oidc-peer.ts',
    { BENCH_CLIENT_ID: 'bench', BENCH_CLIENT_SECRET: 'bench-secret', BENCH_RESOURCE: resource },
    '/.well-known/openid-configuration',
  );
  const request: RequestSpec = {
    method: 'POST',
    path: '/token',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Authorization: `Basic ${Buffer.from('bench:bench-secret').toString('base64')}`,
    },
    body: 'grant_type=client_credentials&scope=api',
  };
  return readyReference(server, request, () => checkOidcToken(server.origin, request, resource));
}

/**
 * The issue's own minimal hot path with a Redis replay check (`targets/minimal-hot-path.ts`), for the fixtures'
 * partner: the same signed requests as Handoff's, from a request source of its own (its replay space is its own).
 */
export async function startMinimalHotPath(
  fixtures: Fixtures,
  redisUrl: string,
  redisPrefix: string,
): Promise<ReferenceServer> {
  const { hmac, platform_code } = fixtures.partner;
  const server = await startScript(
    'minimal hot path',
    'minimal-hot-path.ts',
    {
      BENCH_API_KEY: hmac.api_key,
      BENCH_SECRET: hmac.secret,
      BENCH_PASSPHRASE: hmac.passphrase,
      BENCH_PLATFORM_CODE: platform_code,
      BENCH_REDIS_URL: redisUrl,
      BENCH_REDIS_PREFIX: `${redisPrefix}minimal:`,
    },
    '/.well-known/jwks.json',
  );
  const source = SignedRequestSource.forFixtures(fixtures);
  try {
    await checkClientTokens(server, source, fixtures);
  } catch (error) {
    await server.process.stop();
    throw error;
  }
  return { server, target: clientTokenTarget([server], source) };
}

export async function benchBareHttp(settings: BenchSettings): Promise<Row> {
  const { server, target } = await startBareHttp();
  try {
    return { id: 'bare-http', label: 'bare node:http, fixed JSON', ...(await measure(settings, 'bare-http', target)) };
  } finally {
    await server.process.stop();
  }
}

export async function benchOidcProvider(settings: BenchSettings): Promise<Row> {
  const { server, target } = await startOidcPeer();
  try {
    const measured = await measure(settings, 'oidc-provider', target);
    return { id: 'oidc-provider', label: 'node-oidc-provider 9, client_credentials, ES256 JWT', ...measured };
  } finally {
    await server.process.stop();
  }
}
