import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { buildApp } from '../src/app.ts';
import { catalogue } from '../src/errors/catalogue.ts';
import { routes } from '../src/routes/index.ts';
import { defineRoute } from '../src/routes/route.ts';
import { startTestApp, type TestApp } from './harness.ts';

/** A bug: a handler that throws something no one anticipated, carrying a secret in its message. */
const crash = (surface: 'client-token' | 'partner-api', url: string) =>
  defineRoute({
    method: 'GET',
    url,
    surface,
    summary: 'test only',
    tag: 'test',
    responses: {},
    errors: [],
    async handler() {
      throw new TypeError('secret-detail: db password hunter2');
    },
  });

describe('the one error catalogue and its renderers', () => {
  let t: TestApp;
  let app: ReturnType<typeof buildApp>;

  before(async () => {
    t = await startTestApp();
    app = buildApp(t.ctx, [...routes, crash('client-token', '/test/crash'), crash('partner-api', '/api/test/crash')]);
    await app.ready();
  });
  after(async () => {
    await app.close();
    await t.close();
  });

  test('an unexpected error on the client-token surface: 500, a request id, no detail, no stack', async () => {
    const response = await app.inject({ method: 'GET', url: '/test/crash', headers: { 'x-request-id': 'crash-1' } });
    assert.equal(response.statusCode, 500);
    assert.deepEqual(response.json(), { error: 'internal error', request_id: 'crash-1' });
    assert.ok(!response.body.includes('hunter2'));
  });

  test('an unexpected error on the partner API: ER999 with the request id and nothing else', async () => {
    const response = await app.inject({
      method: 'GET',
      url: '/api/test/crash',
      headers: { 'x-request-id': 'crash-2' },
    });
    assert.equal(response.statusCode, 500);
    assert.deepEqual(response.json(), {
      errors: {
        ER999: {
          code: 'ER999',
          message: 'A general error has occurred. Please contact our support team.',
          solution: 'Contact our support team.',
          requestId: 'crash-2',
        },
      },
    });
  });

  test('the bug is logged for operators with its request id', () => {
    assert.match(t.logs.text, /"reqId":"crash-1".*unhandled error/);
  });

  test('every catalogue entry has a status, a message and a solution', () => {
    for (const [code, entry] of Object.entries(catalogue)) {
      assert.ok(entry.status >= 400 && entry.status < 600, code);
      assert.ok(entry.message.length > 0 && entry.solution.length > 0, code);
    }
  });

  test('a request too broken to reach a route still gets a catalogue error, over a real socket', async () => {
    const server = buildApp(t.ctx);
    await server.listen({ port: 0, host: '127.0.0.1' });
    try {
      const { port } = server.server.address() as AddressInfo;
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.write('NOT HTTP AT ALL\r\n\r\n'));
        let data = '';
        socket.on('data', (chunk) => {
          data += chunk.toString();
        });
        socket.on('close', () => resolve(data));
        socket.on('error', reject);
      });
      assert.match(answer, /^HTTP\/1\.1 400 /);
      assert.ok(answer.endsWith('{"error":"malformed HTTP request"}'), answer);
    } finally {
      await server.close();
    }
  });

  test('methods a route does not have, and odd paths, are JSON 404s on each surface', async () => {
    const deleteToken = await app.inject({ method: 'DELETE', url: '/client_auth_token' });
    assert.equal(deleteToken.statusCode, 404);
    assert.deepEqual(deleteToken.json(), { error: 'not found' });
    const api = await app.inject({ method: 'PUT', url: '/api/v1/user/login-token' });
    assert.equal(api.statusCode, 404);
    assert.equal(api.json().errors.ER903.code, 'ER903');
    const odd = await app.inject({ method: 'GET', url: '/%E0%A4%A' });
    assert.ok(odd.statusCode === 400 || odd.statusCode === 404, String(odd.statusCode));
    assert.doesNotThrow(() => odd.json());
  });
});
