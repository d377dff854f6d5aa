import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { NewPartnerAccount } from '../src/admin/accounts.ts';
import { signedRequest, signHeaders, startTestApp, storeName, type TestApp } from './harness.ts';

const identifier = 'metricsIdentifier'.padEnd(40, '0');

describe(`/metrics after traffic (${storeName})`, () => {
  let t: TestApp;
  let partner: NewPartnerAccount;
  let metrics: string;

  before(async () => {
    t = await startTestApp();
    partner = await t.createPartner({ platformCode: 'METRIC' });
    await t.createUser({ partnerCode: 'METRIC', participantCode: 'METRU1', identifier });
    const body = { participant_code: 'METRU1', permissions: ['onboarding'] };
    // Two tokens issued, one signature replayed, one forged.
    await signedRequest(t, partner.hmac, '/client_auth_token', body);
    const raw = JSON.stringify(body);
    const headers = {
      'content-type': 'application/json',
      ...signHeaders(partner.hmac, 'POST', '/client_auth_token', raw, t.clock.seconds),
    };
    for (let n = 0; n < 2; n++)
      await t.app.inject({ method: 'POST', url: '/client_auth_token', headers, payload: raw });
    await signedRequest(t, { ...partner.hmac, passphrase: 'wrong' }, '/client_auth_token', body);
    // A login token issued, redeemed, then presented again.
    const userHeaders = { 'x-api-key': partner.api_key, 'user-identifier': identifier };
    const login = (await t.app.inject({ method: 'GET', url: '/api/v1/user/login-token', headers: userHeaders })).json();
    for (let n = 0; n < 2; n++) {
      await t.app.inject({
        method: 'POST',
        url: '/api/v2/user/login-with-token',
        headers: { 'x-api-key': partner.api_key, 'content-type': 'application/json' },
        payload: JSON.stringify({ uuid: login.uuid, token: login.token }),
      });
    }
    // Probes and a path that matches no route (its label must not be the raw path).
    await t.app.inject({ method: 'GET', url: '/no/such/path-123' });
    const response = await t.app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    metrics = response.body;
  });
  after(() => t.close());

  const value = (series: string) => {
    const line = metrics.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };

  test('the audit backlog: events recorded and not yet written', async () => {
    const scrape = async () => {
      const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
      return Number(/^handoff_audit_pending_events (\d+)$/m.exec(text)?.[1]);
    };
    await t.ctx.audit.flush();
    assert.equal(await scrape(), 0);
    t.ctx.audit.record({ at: new Date(t.clock.now), surface: 'cli', action: 'backlog-probe', outcome: 'success' });
    assert.equal(await scrape(), 1);
    await t.ctx.audit.flush();
    assert.equal(await scrape(), 0);
  });

  test('request counts and latency histograms by route and status', () => {
    const route = 'method="POST",route="/client_auth_token"';
    assert.equal(value(`handoff_http_requests_total{${route},status="201"}`), 2);
    assert.equal(value(`handoff_http_requests_total{${route},status="403"}`), 2);
    assert.equal(value(`handoff_http_request_duration_seconds_count{${route}}`), 4);
    assert.equal(value(`handoff_http_request_duration_seconds_bucket{le="+Inf",${route}}`), 4);
    assert.ok((value(`handoff_http_request_duration_seconds_sum{${route}}`) ?? 0) > 0);
    assert.equal(value('handoff_http_requests_total{method="GET",route="unmatched",status="404"}'), 1);
    assert.doesNotMatch(metrics, /path-123/);
  });

  test('tokens issued and redeemed by kind; rejections by reason, replays included', () => {
    assert.equal(value('handoff_tokens_issued_total{kind="client_access_token"}'), 2);
    assert.equal(value('handoff_tokens_issued_total{kind="login_token"}'), 1);
    assert.equal(value('handoff_tokens_redeemed_total{kind="login_token"}'), 1);
    assert.equal(value('handoff_requests_rejected_total{surface="client-token",reason="replay"}'), 1);
    assert.equal(value('handoff_requests_rejected_total{surface="client-token",reason="bad_passphrase"}'), 1);
    assert.equal(value('handoff_requests_rejected_total{surface="partner-api",reason="ER333"}'), 1);
  });

  test('dependency errors and event-loop lag are exported', () => {
    // Counted in the fault tests (ops-faults); here, declared for scrapers even before the first failure.
    assert.match(metrics, /^# TYPE handoff_dependency_errors_total counter$/m);
    assert.ok((value('nodejs_eventloop_lag_seconds') ?? -1) >= 0);
    assert.ok((value('nodejs_eventloop_lag_p99_seconds') ?? -1) >= 0);
    assert.ok((value('process_resident_memory_bytes') ?? 0) > 0);
  });
});
