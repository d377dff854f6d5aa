import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { SignJWT } from 'jose';
import {
  createClientTokenClient,
  createPartnerClient,
  HandoffApiError,
  HandoffClientError,
  HandoffRequestError,
} from '../src/index.ts';
import { computeSignature, importHmacSecret } from '../src/request-signer.ts';

/**
 * The SDK's request handling against a scripted fetch: signing, re-signing on retry, timeouts and the error
 * shapes. The same behaviour against a real server is in live-server.test.ts.
 */

interface Recorded {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
}

/** A fetch that records each request and answers from a script (a Response, or an error to throw). */
function scriptedFetch(script: Array<(request: Recorded, signal: AbortSignal) => Promise<Response> | Response>) {
  const requests: Recorded[] = [];
  const fetch = (async (input: URL | string, init: RequestInit) => {
    const request: Recorded = {
      url: String(input),
      method: String(init.method),
      headers: init.headers as Record<string, string>,
      body: init.body as string | undefined,
    };
    requests.push(request);
    const answer = script[Math.min(requests.length, script.length) - 1];
    assert.ok(answer, 'unexpected request');
    return answer(request, init.signal as AbortSignal);
  }) as typeof globalThis.fetch;
  return { fetch, requests };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
const networkFailure = () => Promise.reject(new TypeError('fetch failed'));

const credential = { apiKey: 'ak_test', secret: randomBytes(32).toString('base64'), passphrase: 'pass-phrase' };

/** The contract's signature, computed independently with node:crypto. */
const expectedSignature = (timestamp: string, method: string, path: string, body: string) =>
  createHmac('sha256', Buffer.from(credential.secret, 'base64'))
    .update(`${timestamp}${method}${path}${body}`)
    .digest('base64');

describe('request signing', () => {
  test("matches the contract's test vector (WebCrypto)", async () => {
    const key = await importHmacSecret('2mC4ZvVd4goRkuJm+rjr9byUiaUW1b6tVN4xy9QXNSE=');
    const signature = await computeSignature(key, {
      timestamp: 1714445421,
      method: 'get',
      path: '/accounts?account_owner=00SCXM&account_group=BBLGTW',
      body: undefined,
    });
    assert.equal(signature, 'nvY/lGZoaom8x6eHeMWlzF4NnGvGA3YPtrbCmyUSplo=');
  });

  test('signs the exact body string it sends, with the path under the base URL', async () => {
    const { fetch, requests } = scriptedFetch([() => json(201, { message: { token: 'jwt' } })]);
    const client = createClientTokenClient({ baseUrl: 'http://handoff.test/prefix', ...credential, fetch });
    const answer = await client.createClientAuthToken({ participant_code: 'ALICE1', permissions: ['crypto-buy'] });
    assert.deepEqual(answer, { token: 'jwt' });
    const [request] = requests as [Recorded];
    assert.equal(request.url, 'http://handoff.test/prefix/client_auth_token');
    assert.equal(request.body, '{"participant_code":"ALICE1","permissions":["crypto-buy"]}');
    const { headers } = request;
    assert.equal(headers['x-scx-api-key'], 'ak_test');
    assert.equal(headers['x-scx-passphrase'], 'pass-phrase');
    assert.match(headers['x-scx-timestamp'] as string, /^\d{10}$/);
    assert.ok(Math.abs(Number(headers['x-scx-timestamp']) - Date.now() / 1000) < 5);
    assert.equal(
      headers['x-scx-signed'],
      expectedSignature(headers['x-scx-timestamp'] as string, 'POST', '/prefix/client_auth_token', request.body),
    );
  });

  test('a retry after a network failure is signed afresh, in a later second (never the same signature)', async () => {
    const { fetch, requests } = scriptedFetch([networkFailure, () => json(200, { active: false })]);
    const client = createClientTokenClient({ baseUrl: 'http://handoff.test', ...credential, fetch, retries: 1 });
    assert.deepEqual(await client.introspect('a.b.c'), { active: false });
    assert.equal(requests.length, 2);
    const [first, second] = requests.map((r) => r.headers) as [Record<string, string>, Record<string, string>];
    assert.notEqual(first['x-scx-signed'], second['x-scx-signed']);
    assert.ok(Number(second['x-scx-timestamp']) > Number(first['x-scx-timestamp']));
    for (const headers of [first, second]) {
      const expected = expectedSignature(
        headers['x-scx-timestamp'] as string,
        'POST',
        '/introspect',
        '{"token":"a.b.c"}',
      );
      assert.equal(headers['x-scx-signed'], expected);
    }
  });

  test('two identical requests at once go out in different seconds; different ones do not wait', async () => {
    const { fetch, requests } = scriptedFetch([() => json(200, { active: false })]);
    const client = createClientTokenClient({ baseUrl: 'http://handoff.test', ...credential, fetch });
    await Promise.all([client.introspect('same'), client.introspect('same'), client.introspect('other')]);
    const stamps = requests.map((r) => [JSON.parse(r.body as string).token, Number(r.headers['x-scx-timestamp'])]);
    const same = stamps.filter(([token]) => token === 'same').map(([, second]) => second);
    assert.equal(new Set(same).size, 2, JSON.stringify(stamps));
    assert.equal(new Set(requests.map((r) => r.headers['x-scx-signed'])).size, 3);
  });

  test('a timeout is retried, then reported as a timeout', async () => {
    const hang = (_: Recorded, signal: AbortSignal) =>
      new Promise<Response>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    const { fetch, requests } = scriptedFetch([hang]);
    const client = createClientTokenClient({
      baseUrl: 'http://handoff.test',
      ...credential,
      fetch,
      timeoutMs: 30,
      retries: 1,
    });
    const error = await client.revokeAuthToken('t').catch((e: unknown) => e);
    assert.ok(error instanceof HandoffRequestError);
    assert.equal(error.reason, 'timeout');
    assert.equal(error.attempts, 2);
    assert.equal(requests.length, 2);
  });

  test("HTTP errors are not retried and carry the server's messages", async () => {
    const cases: Array<[Response, number, string[], number | undefined]> = [
      [
        json(400, { errors: ['permissions[0]: must be one of …', 'email: must be an email address'] }),
        400,
        ['permissions[0]: must be one of …', 'email: must be an email address'],
        undefined,
      ],
      [json(403, { error: 'invalid signature' }), 403, ['invalid signature'], undefined],
      [json(429, { error: 'rate limit exceeded' }, { 'retry-after': '7' }), 429, ['rate limit exceeded'], 7],
    ];
    for (const [response, status, messages, retryAfter] of cases) {
      const { fetch, requests } = scriptedFetch([() => response]);
      const client = createClientTokenClient({ baseUrl: 'http://handoff.test', ...credential, fetch });
      const error = await client.introspect('t').catch((e: unknown) => e);
      assert.ok(error instanceof HandoffClientError, String(error));
      assert.equal(error.status, status);
      assert.deepEqual(error.messages, messages);
      assert.equal(error.retryAfterSeconds, retryAfter);
      assert.equal(requests.length, 1);
    }
    const { fetch } = scriptedFetch([() => new Response('<html>Bad gateway</html>', { status: 502 })]);
    const client = createClientTokenClient({ baseUrl: 'http://handoff.test', ...credential, fetch });
    const error = await client.introspect('t').catch((e: unknown) => e);
    assert.ok(error instanceof HandoffRequestError);
    assert.equal(error.reason, 'unexpected_response');
    assert.equal(error.status, 502);
  });
});

describe('partner client (scripted)', () => {
  const partnerJwt = (expiresInSeconds: number) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(Math.floor(Date.now() / 1000) + expiresInSeconds)
      .sign(new Uint8Array(32));

  test('catalogue errors become HandoffApiError with code, status, message and solution', async () => {
    const body = {
      errors: { ER705: { code: 'ER705', message: 'User identifier is not linked to a user.', solution: 'Link it.' } },
    };
    const { fetch, requests } = scriptedFetch([() => json(404, body, { 'x-request-id': 'req-1' })]);
    const client = createPartnerClient({ baseUrl: 'http://handoff.test', apiKey: 'hk_key', fetch });
    const error = await client.getLoginToken({ identifier: 'x'.repeat(40) }).catch((e: unknown) => e);
    assert.ok(error instanceof HandoffApiError);
    assert.equal(error.code, 'ER705');
    assert.equal(error.status, 404);
    assert.equal(error.message, 'User identifier is not linked to a user.');
    assert.equal(error.solution, 'Link it.');
    assert.equal(error.requestId, 'req-1');
    assert.equal(requests[0]?.headers['x-api-key'], 'hk_key');
    assert.equal(requests[0]?.headers['user-identifier'], 'x'.repeat(40));
  });

  test('a bearer the server refuses as expired is renewed once and the call repeated', async () => {
    const first = await partnerJwt(3600);
    const second = await partnerJwt(3600);
    const expired = {
      errors: { ER801: { code: 'ER801', message: 'Authorization token has expired.', solution: '…' } },
    };
    const { fetch, requests } = scriptedFetch([
      () => json(200, { token: first, refreshToken: 'r1' }),
      () => json(401, expired),
      () => json(200, { token: second, refreshToken: 'r2' }),
      () => json(200, { urls: {}, privateUrls: { kyc: 'k', upgrade: 'u', support: 's' } }),
    ]);
    const client = createPartnerClient({ baseUrl: 'http://handoff.test', username: 'u', password: 'p', fetch });
    await client.systemInfo();
    assert.deepEqual(
      requests.map((r) => `${r.method} ${new URL(r.url).pathname} ${r.headers.authorization ?? ''}`),
      [
        'POST /api/v1/authenticate ',
        `GET /api/v1/system/info Bearer ${first}`,
        'POST /api/v1/refresh ',
        `GET /api/v1/system/info Bearer ${second}`,
      ],
    );
    assert.equal(requests[2]?.body, '{"refreshToken":"r1"}');
  });
});
