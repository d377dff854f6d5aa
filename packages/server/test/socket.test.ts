import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { NewPartnerAccount } from '../src/admin/accounts.ts';
import { signHeaders } from './harness.ts';
import { jsonOf, runHandoff, type ServeProcess, startServe, tempDataDir } from './subprocess.ts';

/**
 * One suite over a real socket: `handoff serve` as a process on the embedded default, fixtures made with the CLI
 * beforehand (the data directory admits one process), real signed HTTP requests, and a clean SIGTERM.
 */
// Generous for loaded CI machines; on a developer machine it is one to three seconds (reported as a diagnostic).
const startupBudgetMs = 15_000;

describe('handoff serve over a real socket (embedded store)', () => {
  const data = tempDataDir();
  const env = { HANDOFF_DATA_DIR: data.dir, HANDOFF_LOG_LEVEL: 'warn' };
  let partner: NewPartnerAccount;
  let participantCode: string;
  let server: ServeProcess;
  let startupMs: number;

  before(async () => {
    partner = jsonOf<NewPartnerAccount>(
      await runHandoff(['partner', 'create', '--name', 'Socket Co', '--platform-code', 'SOCK01', '--json'], env),
    );
    const user = jsonOf(
      await runHandoff(['user', 'create', '--partner', 'SOCK01', '--email', 's@example.com', '--json'], env),
    );
    participantCode = user.participant_code as string;
    server = await startServe(env);
    startupMs = await server.waitHealthy(60_000);
  });
  after(async () => {
    await server?.stop();
    data.remove();
  });

  /** A partner backend's request: signed over the exact bytes sent, with the current Unix time. */
  function signedFetch(path: string, body: unknown, headers: Record<string, string> = {}) {
    const raw = JSON.stringify(body);
    return fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...signHeaders(partner.hmac, 'POST', path, raw, Math.floor(Date.now() / 1000)),
        ...headers,
      },
      body: raw,
    });
  }

  test('GET /healthz answers within seconds of the start; /readyz too', async (t) => {
    t.diagnostic(`/healthz answered ${startupMs} ms after spawning handoff serve`);
    assert.ok(startupMs < startupBudgetMs, `took ${startupMs} ms`);
    const ready = await fetch(`${server.url}/readyz`);
    assert.equal(ready.status, 200);
  });

  test('a signed POST /client_auth_token → 201; the JWT verifies against the JWKS fetched over HTTP', async () => {
    const response = await signedFetch(
      '/client_auth_token',
      { participant_code: participantCode, permissions: ['crypto-buy'] },
      { 'x-request-id': 'socket-test-1' },
    );
    assert.equal(response.status, 201);
    assert.equal(response.headers.get('x-request-id'), 'socket-test-1');
    assert.match(String(response.headers.get('content-type')), /^application\/json/);
    const { message } = (await response.json()) as { message: { token: string } };

    const jwks = createRemoteJWKSet(new URL(`${server.url}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(message.token, jwks, {
      issuer: server.url,
      audience: 'handoff-sdk',
      algorithms: ['ES256'],
      typ: 'client-auth+jwt',
    });
    assert.ok(protectedHeader.kid);
    assert.equal(payload.platform_code, 'SOCK01');
    assert.equal(payload.participant_code, participantCode);

    const introspection = await signedFetch('/introspect', { token: message.token });
    assert.equal(introspection.status, 200);
    assert.equal(((await introspection.json()) as { active: boolean }).active, true);
  });

  test('errors over the wire: JSON with a generated X-Request-Id', async () => {
    const unsigned = await fetch(`${server.url}/client_auth_token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(unsigned.status, 403);
    assert.match(String(unsigned.headers.get('x-request-id')), /^[0-9a-f-]{36}$/);
    assert.deepEqual(await unsigned.json(), { error: 'missing header X-SCX-API-KEY' });
    const unknown = await fetch(`${server.url}/nope`);
    assert.equal(unknown.status, 404);
    assert.match(String(unknown.headers.get('content-type')), /^application\/json/);
  });

  test('SIGTERM with a request in flight: it is answered with Connection: close, then the process exits 0', async () => {
    // Headers and half the body go out before the signal, the rest after: the request is in flight throughout.
    const raw = JSON.stringify({ participant_code: participantCode, permissions: ['crypto-sell'] });
    const path = '/client_auth_token';
    const headers = {
      host: new URL(server.url).host,
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(raw)),
      ...signHeaders(partner.hmac, 'POST', path, raw, Math.floor(Date.now() / 1000)),
    };
    const socket = net.connect(Number(new URL(server.url).port), '127.0.0.1');
    let answer = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      answer += chunk;
    });
    // A first exchange on the connection proves the server has accepted it (not just the kernel's backlog).
    socket.write(`GET /healthz HTTP/1.1\r\nhost: ${headers.host}\r\n\r\n`);
    for (let waited = 0; !answer.includes('\r\n\r\n{'); waited += 10) {
      assert.ok(waited < 10_000, 'no answer to GET /healthz');
      await delay(10);
    }
    answer = '';
    socket.write(
      `POST ${path} HTTP/1.1\r\n${Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('')}\r\n`,
    );
    socket.write(raw.slice(0, 10));
    const closedByServer = once(socket, 'end');
    await delay(200);

    const stopping = server.stop();
    await delay(500);
    socket.write(raw.slice(10));
    await closedByServer;
    assert.match(answer, /^HTTP\/1\.1 201 /);
    // Without it the client would keep the connection, and the server would wait out its keep-alive timeout.
    assert.match(answer, /\r\nconnection: close\r\n/i);

    const stopped = await stopping;
    assert.equal(stopped.code, 0, server.output());
    assert.ok(stopped.ms < 10_000, `took ${stopped.ms} ms`);
    // The lock is released: the CLI can use the data directory again.
    const partners = jsonOf<unknown[]>(await runHandoff(['partner', 'list', '--json'], env));
    assert.equal(partners.length, 1);
  });
});
