import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import type { NewPartnerAccount } from '../src/admin/accounts.ts';
import { buildApp } from '../src/app.ts';
import { randomToken, sha256Hex } from '../src/crypto/random.ts';
import { createLogger } from '../src/logger.ts';
import { escapeHtml, html, raw } from '../src/pages/html.ts';
import { sessionLifetime } from '../src/pages/sessions.ts';
import { routes } from '../src/routes/index.ts';
import { pageRoute } from '../src/routes/pages/page-route.ts';
import { defineRoute } from '../src/routes/route.ts';
import { openServerContext } from '../src/server.ts';
import { insertLinkRequest } from '../src/store/identifiers.ts';
import { insertLoginToken } from '../src/store/login-tokens.ts';
import type { Participant } from '../src/store/participants.ts';
import { softDeleteParticipant } from '../src/store/participants.ts';
import { findPartnerByCode, setPartnerStatus, updatePartnerSettings } from '../src/store/partners.ts';
import { LogCapture, startTestApp, storeName, type TestApp, testDatabaseUrl } from './harness.ts';

/** A browser's cookie jar over inject(): keeps what Set-Cookie sets and deletes what it expires. */
class Browser {
  readonly cookies = new Map<string, string>();
  constructor(private readonly t: { app: TestApp['app'] }) {}

  async get(url: string, headers: Record<string, string> = {}) {
    return this.send('GET', url, undefined, headers);
  }

  /** A form post as a browser sends it from one of our pages (Sec-Fetch-Site: same-origin). */
  async post(url: string, form: Record<string, string>, headers: Record<string, string> = {}) {
    return this.send('POST', url, new URLSearchParams(form).toString(), {
      'content-type': 'application/x-www-form-urlencoded',
      'sec-fetch-site': 'same-origin',
      ...headers,
    });
  }

  private async send(
    method: 'GET' | 'POST',
    url: string,
    payload: string | undefined,
    headers: Record<string, string>,
  ) {
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await this.t.app.inject({
      method,
      url,
      headers: { ...(cookie ? { cookie } : {}), ...headers },
      ...(payload === undefined ? {} : { payload }),
    });
    for (const line of setCookies(response)) {
      const [pair] = line.split(';');
      const eq = (pair as string).indexOf('=');
      const name = (pair as string).slice(0, eq);
      if (/;\s*Max-Age=0(;|$)/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, (pair as string).slice(eq + 1));
    }
    return response;
  }
}

const setCookies = (response: LightMyRequestResponse): string[] => {
  const value = response.headers['set-cookie'];
  return value === undefined ? [] : Array.isArray(value) ? value : [String(value)];
};

/** The hidden fields of the page's form that posts to `action`, as the browser would send them. */
function formFields(page: string, action: string): Record<string, string> {
  const form = new RegExp(`<form method="post" action="${action.replace(/[?.*+]/g, '\\$&')}">([\\s\\S]*?)</form>`).exec(
    page,
  );
  assert.ok(form, `no form posting to ${action} in:\n${page}`);
  const fields: Record<string, string> = {};
  for (const [, name, value] of (form[1] as string).matchAll(/<input type="hidden" name="(\w+)" value="([^"]*)">/g)) {
    fields[name as string] = (value as string).replace(/&amp;/g, '&');
  }
  return fields;
}

const expectedPageHeaders = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
};

function assertPageHeaders(response: LightMyRequestResponse, label: string) {
  for (const [name, value] of Object.entries(expectedPageHeaders)) {
    if (response.statusCode === 303 && name === 'content-type') continue;
    assert.equal(response.headers[name], value, `${label}: ${name}`);
  }
  const csp = String(response.headers['content-security-policy']);
  assert.match(csp, /^default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'/, label);
  assert.match(csp, /frame-ancestors 'none'; base-uri 'none'$/, label);
  assert.doesNotMatch(csp, /script-src|unsafe-inline/, label);
  if (response.statusCode !== 303) {
    assert.match(response.body, /^<!doctype html>/, `${label}: an HTML page`);
    assert.doesNotMatch(response.body, /<script/i, `${label}: no script`);
  }
}

const identifierOf = (seed: string) => seed.padEnd(40, '0');

describe(`hosted private pages (${storeName})`, () => {
  let t: TestApp;
  let partner: NewPartnerAccount;
  let partnerId: string;
  let alice: Participant;
  let bob: Participant;
  const password = 'correct horse battery';
  const aliceIdentifier = identifierOf('aliceIdentifier');

  before(async () => {
    t = await startTestApp();
    partner = await t.createPartner({ name: 'Acme Wallet', platformCode: 'ACME01' });
    partnerId = (await findPartnerByCode(t.ctx.db, 'ACME01'))!.id;
    await t.createPartner({ name: 'Other Bank', platformCode: 'OTHR01' });
    alice = await t.createUser({
      partnerCode: 'ACME01',
      email: 'alice@example.com',
      password,
      status: 'submitted',
      identifier: aliceIdentifier,
    });
    bob = await t.createUser({ partnerCode: 'ACME01', email: 'bob@example.com', password, status: 'approved' });
    await t.createUser({ partnerCode: 'OTHR01', email: 'carol@example.com', password });
  });
  after(() => t.close());

  /** A login link the way a partner gets one: GET /api/v1/user/login-token for its user. */
  async function loginLinkFromApi(identifier = aliceIdentifier) {
    const response = await t.app.inject({
      method: 'GET',
      url: '/api/v1/user/login-token',
      headers: { 'x-api-key': partner.api_key, 'user-identifier': identifier },
    });
    assert.equal(response.statusCode, 200, response.body);
    return response.json() as { uuid: string; token: string; expiryDate: string };
  }

  /** A login token straight in the store, for cases the API cannot produce (custom lifetimes). */
  async function loginLink(user: Participant, lifetimeSeconds = 300) {
    const token = randomToken(32);
    await insertLoginToken(t.ctx.db, {
      tokenHash: sha256Hex(token),
      partnerId,
      user: { participantId: user.uuid },
      createdAt: new Date(t.clock.now),
      expiresAt: new Date(t.clock.now + lifetimeSeconds * 1000),
    });
    return { token, uuid: user.uuid };
  }

  const linkUrl = (page: string, link: { token: string; uuid: string }) =>
    `/private/${page}?token=${encodeURIComponent(link.token)}&uuid=${link.uuid}`;

  const usedAt = async (token: string) =>
    (
      await t.ctx.db
        .selectFrom('login_tokens')
        .select('used_at')
        .where('token_hash', '=', sha256Hex(token))
        .executeTakeFirstOrThrow()
    ).used_at;

  /** Link → confirmation → button: a signed-in browser on `page`. */
  async function signIn(user: Participant = alice, page = 'kyc') {
    const browser = new Browser(t);
    const link = await loginLink(user);
    const confirmation = await browser.get(linkUrl(page, link));
    assert.equal(confirmation.statusCode, 200, confirmation.body);
    const signedIn = await browser.post(`/private/${page}`, formFields(confirmation.body, `/private/${page}`));
    assert.equal(signedIn.statusCode, 303, signedIn.body);
    return browser;
  }

  test('the html tag escapes every value unless it is markup already', () => {
    const hostile = `<script>alert("x")</script>&'`;
    assert.equal(
      html`<p title="${hostile}">${hostile}</p>`.value,
      '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;</p>',
    );
    assert.equal(
      html`<ul>${['a', '<b>'].map((x) => html`<li>${x}</li>`)}</ul>`.value,
      '<ul><li>a</li><li>&lt;b&gt;</li></ul>',
    );
    assert.equal(html`${false}${null}${undefined}${raw('<br>')}${0}`.value, '<br>0');
    assert.equal(escapeHtml('"&'), '&quot;&amp;');
  });

  test('GET of a link shows who is signed in and spends nothing; the button spends it once', async () => {
    const link = await loginLinkFromApi();
    const browser = new Browser(t);
    for (let visit = 0; visit < 2; visit++) {
      const confirmation = await browser.get(linkUrl('kyc', link));
      assert.equal(confirmation.statusCode, 200);
      assertPageHeaders(confirmation, 'confirmation');
      assert.match(confirmation.body, /<h1 id="title">Continue as <span class="address">a…@example\.com<\/span><\/h1>/);
      assert.match(confirmation.body, /Acme Wallet/);
      assert.doesNotMatch(confirmation.body, /alice@example\.com/, 'the full email never shows');
    }
    assert.equal(await usedAt(link.token), null, 'GETs spend nothing');
    const preCookie = setCookies(await new Browser(t).get(linkUrl('kyc', link)))[0] ?? '';
    assert.match(preCookie, /^handoff_pre=[A-Za-z0-9_-]{43}; Path=\/private; HttpOnly; SameSite=Lax$/);

    const fields = formFields((await browser.get(linkUrl('kyc', link))).body, '/private/kyc');
    const redeemed = await browser.post('/private/kyc', fields);
    assert.equal(redeemed.statusCode, 303);
    assert.equal(redeemed.headers.location, '/private/kyc', 'the token leaves the URL');
    assertPageHeaders(redeemed, 'redirect');
    const sessionCookie = setCookies(redeemed).find((c) => c.startsWith('handoff_session=')) ?? '';
    assert.match(
      sessionCookie,
      new RegExp(
        `^handoff_session=[A-Za-z0-9_-]{43}; Path=/private; HttpOnly; SameSite=Lax; Max-Age=${sessionLifetime(t.ctx.config).absoluteSeconds}$`,
      ),
      'no Secure on an http public origin',
    );
    assert.notEqual(await usedAt(link.token), null);
    const stored = await t.ctx.db.selectFrom('page_sessions').select('id_hash').execute();
    const sessionId = sessionCookie.split(';')[0]!.split('=')[1]!;
    assert.ok(
      stored.some((row) => row.id_hash === sha256Hex(sessionId)),
      'the session is stored as a hash',
    );
    assert.ok(!stored.some((row) => row.id_hash === sessionId), 'never in the clear');

    const page = await browser.get('/private/kyc');
    assert.equal(page.statusCode, 200);
    assertPageHeaders(page, 'kyc');
    assert.match(page.body, /Identity check needed/);
    assert.match(page.body, /a…@example\.com/);

    const again = await browser.post('/private/kyc', fields);
    assert.equal(again.statusCode, 400, 'a spent link is refused');
    assertPageHeaders(again, 'spent');
    assert.match(again.body, /This link can no longer be used/);
    assert.match(again.body, /ER333/);

    await t.ctx.audit.flush();
    const events = await t.ctx.db
      .selectFrom('audit_events')
      .selectAll()
      .where('surface', '=', 'pages')
      .where('action', '=', 'login_token.redeem')
      .execute();
    assert.ok(
      events.some((e) => e.outcome === 'success' && e.participant_id === alice.uuid && e.partner_id === partnerId),
    );
    assert.ok(events.some((e) => e.outcome === 'rejected' && e.reason === 'ER333'));
    assert.ok(!JSON.stringify(events).includes(link.token), 'no token material in the audit trail');
    assert.ok(!t.logs.text.includes(link.token), 'no token material in the logs');
    const metrics = await t.ctx.metrics.registry.getSingleMetricAsString('handoff_tokens_redeemed_total');
    assert.match(metrics, /handoff_tokens_redeemed_total\{kind="login_token"\} [1-9]/);
  });

  test('concurrent clicks on one link: exactly one signs in', async () => {
    const link = await loginLink(alice);
    const browser = new Browser(t);
    const fields = formFields((await browser.get(linkUrl('upgrade', link))).body, '/private/upgrade');
    const answers = await Promise.all(Array.from({ length: 6 }, () => browser.post('/private/upgrade', fields)));
    assert.deepEqual(answers.map((a) => a.statusCode).sort(), [303, 400, 400, 400, 400, 400]);
  });

  test('CSRF: a missing, foreign or misdirected token, or no pre-session, is refused and spends nothing', async () => {
    const link = await loginLink(alice);
    const browser = new Browser(t);
    const fields = formFields((await browser.get(linkUrl('kyc', link))).body, '/private/kyc');
    const { csrf, ...withoutCsrf } = fields;

    const missing = await browser.post('/private/kyc', withoutCsrf);
    assert.equal(missing.statusCode, 403);
    assertPageHeaders(missing, 'csrf missing');
    assert.match(missing.body, /Please try again/);

    const stranger = new Browser(t);
    const strangerCsrf = formFields((await stranger.get(linkUrl('kyc', link))).body, '/private/kyc').csrf!;
    assert.equal(
      (await browser.post('/private/kyc', { ...fields, csrf: strangerCsrf })).statusCode,
      403,
      'another browser',
    );
    const otherForm = formFields((await browser.get(linkUrl('support', link))).body, '/private/support').csrf!;
    assert.equal((await browser.post('/private/kyc', { ...fields, csrf: otherForm })).statusCode, 403, 'another form');
    browser.cookies.delete('handoff_pre');
    assert.equal((await browser.post('/private/kyc', fields)).statusCode, 403, 'no pre-session cookie');
    assert.equal(await usedAt(link.token), null, 'nothing was spent');

    const fresh = new Browser(t);
    const ok = await fresh.post(
      '/private/kyc',
      formFields((await fresh.get(linkUrl('kyc', link))).body, '/private/kyc'),
    );
    assert.equal(ok.statusCode, 303, 'the link still works after the refusals');
    assert.ok(csrf);
  });

  test('Sec-Fetch-Site: another site (or a sibling subdomain) is refused even with a valid token', async () => {
    const link = await loginLink(alice);
    const browser = new Browser(t);
    const fields = formFields((await browser.get(linkUrl('kyc', link))).body, '/private/kyc');
    for (const site of ['cross-site', 'same-site']) {
      const refused = await browser.post('/private/kyc', fields, { 'sec-fetch-site': site });
      assert.equal(refused.statusCode, 403, site);
      assert.match(refused.body, /Request blocked/);
      assertPageHeaders(refused, site);
    }
    assert.equal(await usedAt(link.token), null);
    const noHeader = await browser.post('/private/kyc', fields, { 'sec-fetch-site': '' });
    assert.equal(noHeader.statusCode, 303, 'browsers without Fetch Metadata rely on the token alone');
  });

  test('expired, unknown, mismatched, incomplete and user-less links: a page that says so, nothing spent', async () => {
    const browser = new Browser(t);
    const expired = await loginLink(alice, 300);
    t.clock.advance(300);
    for (const response of [
      await browser.get(linkUrl('kyc', expired)),
      await browser.post('/private/kyc', {
        ...formFields((await browser.get(linkUrl('kyc', await loginLink(alice)))).body, '/private/kyc'),
        ...expired,
      }),
    ]) {
      assert.equal(response.statusCode, 400);
      assertPageHeaders(response, 'expired');
      assert.match(response.body, /This link has expired/);
      assert.match(response.body, /ER334/);
      assert.match(response.body, /get a new link/);
    }
    assert.equal(await usedAt(expired.token), null, 'an expired link is not spent');

    const unknown = await browser.get(linkUrl('kyc', { token: randomToken(32), uuid: alice.uuid }));
    assert.equal(unknown.statusCode, 400);
    assert.match(unknown.body, /This link can no longer be used/);

    const alices = await loginLink(alice);
    const mismatched = await browser.get(linkUrl('kyc', { token: alices.token, uuid: bob.uuid }));
    assert.equal(mismatched.statusCode, 400, "another user's uuid");
    assert.match(mismatched.body, /This link can no longer be used/);
    const malformed = await browser.get(linkUrl('kyc', { token: alices.token, uuid: 'not-a-uuid' }));
    assert.equal(malformed.statusCode, 400);
    const fields = formFields((await browser.get(linkUrl('kyc', alices))).body, '/private/kyc');
    assert.equal((await browser.post('/private/kyc', { ...fields, uuid: bob.uuid })).statusCode, 400);
    assert.equal(await usedAt(alices.token), null, 'a mismatched uuid spends nothing');

    const incomplete = await browser.get(`/private/kyc?token=${alices.token}`);
    assert.equal(incomplete.statusCode, 400);
    assert.match(incomplete.body, /This link is incomplete/);

    const doomed = await t.createUser({ partnerCode: 'ACME01', email: 'doomed@example.com' });
    const doomedLink = await loginLink(doomed);
    await softDeleteParticipant(t.ctx.db, partnerId, doomed.uuid, new Date(t.clock.now));
    const noUser = await browser.get(linkUrl('kyc', doomedLink));
    assert.equal(noUser.statusCode, 400);
    assert.match(noUser.body, /This account is not available/);
    assert.match(noUser.body, /ER335/);
  });

  test("a disabled partner's links say the service is unavailable and are not spent; enabled again, they work", async () => {
    const browser = new Browser(t);
    const link = await loginLink(alice);
    const fields = formFields((await browser.get(linkUrl('kyc', link))).body, '/private/kyc');
    await setPartnerStatus(t.ctx.db, 'ACME01', 'disabled');
    try {
      for (const response of [await browser.get(linkUrl('kyc', link)), await browser.post('/private/kyc', fields)]) {
        assert.equal(response.statusCode, 403);
        assertPageHeaders(response, 'platform disabled');
        assert.match(response.body, /This service is not available/);
        assert.match(response.body, /ER813/);
      }
      assert.equal(await usedAt(link.token), null, 'nothing spent');
    } finally {
      await setPartnerStatus(t.ctx.db, 'ACME01', 'active');
    }
    assert.equal((await browser.post('/private/kyc', fields)).statusCode, 303);
    assert.notEqual(await usedAt(link.token), null);
  });

  test('session lifetimes come from HANDOFF_PAGE_SESSION_IDLE_MINUTES and HANDOFF_PAGE_SESSION_MAX_HOURS', async () => {
    const short = await startTestApp({
      env: { HANDOFF_PAGE_SESSION_IDLE_MINUTES: '5', HANDOFF_PAGE_SESSION_MAX_HOURS: '1' },
    });
    try {
      await short.createPartner({ platformCode: 'SHRT01' });
      const user = await short.createUser({ partnerCode: 'SHRT01', email: 'short@example.com' });
      const token = randomToken(32);
      await insertLoginToken(short.ctx.db, {
        tokenHash: sha256Hex(token),
        partnerId: user.partnerId,
        user: { participantId: user.uuid },
        createdAt: new Date(short.clock.now),
        expiresAt: new Date(short.clock.now + 300_000),
      });
      const browser = new Browser(short);
      const confirmation = await browser.get(linkUrl('kyc', { token, uuid: user.uuid }));
      const signedIn = await browser.post('/private/kyc', formFields(confirmation.body, '/private/kyc'));
      assert.equal(signedIn.statusCode, 303);
      assert.match(setCookies(signedIn).find((c) => c.startsWith('handoff_session=')) ?? '', /; Max-Age=3600$/);
      short.clock.advance(4 * 60);
      assert.equal((await browser.get('/private/kyc')).statusCode, 200, 'inside 5 idle minutes');
      short.clock.advance(5 * 60 + 1);
      assert.equal((await browser.get('/private/kyc')).statusCode, 401, 'past 5 idle minutes');
    } finally {
      await short.close();
    }
  });

  test('a user without an email address is named "your account", never by another field', async () => {
    const phoneOnly = await t.createUser({ partnerCode: 'ACME01', email: null, phoneNumber: '+14155550100' });
    const confirmation = await new Browser(t).get(linkUrl('kyc', await loginLink(phoneOnly)));
    assert.equal(confirmation.statusCode, 200);
    assert.match(confirmation.body, /<h1 id="title">Continue to your account<\/h1>/);
    assert.doesNotMatch(confirmation.body, /4155550100/);
  });

  test('a signed-in user on a spent link is offered the way back to the page', async () => {
    const browser = new Browser(t);
    const link = await loginLink(alice);
    const fields = formFields((await browser.get(linkUrl('support', link))).body, '/private/support');
    assert.equal((await browser.post('/private/support', fields)).statusCode, 303);
    const again = await browser.get(linkUrl('support', link));
    assert.equal(again.statusCode, 400);
    assert.match(again.body, /<a class="button secondary" href="\/private\/support">Go to your account<\/a>/);
  });

  test('signed-in pages: KYC status and next step, tier and next tier, per status and kind', async () => {
    const cases = [
      { status: 'submitted', kind: 'individual', kyc: 'Identity check needed', tier: 'Basic', next: 'Next: Verified' },
      { status: 'pending_approval', kind: 'individual', kyc: 'Under review', tier: 'Basic', next: 'Next: Verified' },
      { status: 'approved', kind: 'individual', kyc: 'Verified', tier: 'Verified', next: 'Next: Business' },
      { status: 'approved', kind: 'merchant', kyc: 'Verified', tier: 'Business', next: 'You have the highest tier' },
      { status: 'rejected', kind: 'individual', kyc: 'Not approved', tier: 'Basic', next: 'Next: Verified' },
      { status: 'locked', kind: 'individual', kyc: 'Account locked', tier: null, next: 'Your account is restricted' },
      { status: 'closed', kind: 'individual', kyc: 'Account closed', tier: null, next: 'Your account is restricted' },
    ] as const;
    for (const [i, c] of cases.entries()) {
      const user = await t.createUser({
        partnerCode: 'ACME01',
        email: `tier${i}@example.com`,
        status: c.status,
        kind: c.kind,
      });
      const browser = await signIn(user);
      const kyc = await browser.get('/private/kyc');
      assert.equal(kyc.statusCode, 200);
      assert.match(kyc.body, new RegExp(`<span class="badge [a-z]+">${c.kyc}</span>`), `${c.status} kyc`);
      assert.match(kyc.body, /<strong>Next step<\/strong>/);
      assert.match(kyc.body, /aria-current="page">Verification</);
      const upgrade = await browser.get('/private/upgrade');
      assert.equal(upgrade.statusCode, 200);
      if (c.tier)
        assert.match(upgrade.body, new RegExp(`Current tier</span><span class="badge success">${c.tier}<`), c.status);
      assert.match(upgrade.body, new RegExp(c.next), `${c.status} ${c.kind} next`);
    }
  });

  test('support: a message is stored, listed back escaped, private to its author; bad input re-shows the form', async () => {
    const browser = await signIn(alice, 'support');
    const page = await browser.get('/private/support?topic=upgrade');
    assert.match(page.body, /<option value="upgrade" selected>/);
    const fields = formFields(page.body, '/private/support/messages');
    const message = 'My card <script>alert(1)</script> was declined & I need help';
    const sent = await browser.post('/private/support/messages', { ...fields, topic: 'payments', message });
    assert.equal(sent.statusCode, 303);
    assert.equal(sent.headers.location, '/private/support?sent=1');
    const listed = await browser.get('/private/support?sent=1');
    assert.match(listed.body, /Message sent/);
    assert.match(listed.body, /Payments · /);
    assert.ok(listed.body.includes(escapeHtml(message)), 'the message is listed, escaped');
    assert.ok(!listed.body.includes('<script>alert(1)</script>'));
    const rows = await t.ctx.db
      .selectFrom('support_messages')
      .selectAll()
      .where('participant_id', '=', alice.uuid)
      .execute();
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.body, message);

    const empty = await browser.post('/private/support/messages', { ...fields, topic: 'other', message: '   ' });
    assert.equal(empty.statusCode, 400);
    assert.match(empty.body, /Write a message before sending/);
    assertPageHeaders(empty, 'support validation');
    const tooLong = await browser.post('/private/support/messages', { ...fields, message: 'x'.repeat(2001) });
    assert.equal(tooLong.statusCode, 400);
    assert.match(tooLong.body, /2000 characters or fewer/);

    const forged = await browser.post('/private/support/messages', { topic: 'other', message: 'forged' });
    assert.equal(forged.statusCode, 403, 'CSRF on signed-in forms too');
    const preBound = await browser.post('/private/support/messages', {
      ...fields,
      csrf: formFields((await browser.get(linkUrl('kyc', await loginLink(alice)))).body, '/private/kyc').csrf!,
      message: 'with a pre-session token',
    });
    assert.equal(preBound.statusCode, 403, 'a token bound to the pre-session does not pass for the session');

    const bobs = await signIn(bob, 'support');
    const bobPage = await bobs.get('/private/support');
    assert.match(bobPage.body, /No messages yet/);
    assert.equal((await new Browser(t).post('/private/support/messages', { message: 'x' })).statusCode, 401);
  });

  test('sessions: 30 idle minutes, 12 hours at most, fresh id on every sign-in', async () => {
    const idle = await signIn(alice);
    t.clock.advance(sessionLifetime(t.ctx.config).idleSeconds - 60);
    assert.equal((await idle.get('/private/kyc')).statusCode, 200, 'activity inside the idle window');
    t.clock.advance(sessionLifetime(t.ctx.config).idleSeconds - 60);
    assert.equal((await idle.get('/private/kyc')).statusCode, 200, 'the idle window slid with the last visit');
    t.clock.advance(sessionLifetime(t.ctx.config).idleSeconds + 1);
    const ended = await idle.get('/private/kyc');
    assert.equal(ended.statusCode, 401);
    assert.match(ended.body, /Your session has ended/);
    assertPageHeaders(ended, 'session ended');
    assert.ok(!idle.cookies.has('handoff_session'), 'the dead cookie is cleared');

    const busy = await signIn(alice);
    const started = t.clock.now;
    let visits = 0;
    while (t.clock.now - started < (sessionLifetime(t.ctx.config).absoluteSeconds - 20 * 60) * 1000) {
      t.clock.advance(20 * 60);
      assert.equal((await busy.get('/private/upgrade')).statusCode, 200);
      visits++;
    }
    assert.ok(visits >= 30);
    t.clock.advance(20 * 60);
    assert.equal((await busy.get('/private/upgrade')).statusCode, 401, 'past 12 hours, however active');

    const browser = await signIn(alice);
    const first = browser.cookies.get('handoff_session')!;
    const link = await loginLink(bob);
    const fields = formFields((await browser.get(linkUrl('kyc', link))).body, '/private/kyc');
    assert.equal((await browser.post('/private/kyc', fields)).statusCode, 303);
    const second = browser.cookies.get('handoff_session')!;
    assert.notEqual(second, first, 'a new id at sign-in');
    assert.match((await browser.get('/private/kyc')).body, /b…@example\.com/);
    const replayed = await t.app.inject({
      method: 'GET',
      url: '/private/kyc',
      headers: { cookie: `handoff_session=${first}` },
    });
    assert.equal(replayed.statusCode, 401, 'the previous session ended');
  });

  test('not signed in, forged cookies, unknown pages: HTML answers with the page headers', async () => {
    const anonymous = await new Browser(t).get('/private/upgrade');
    assert.equal(anonymous.statusCode, 401);
    assert.match(anonymous.body, /You are not signed in/);
    assertPageHeaders(anonymous, 'anonymous');
    const forged = await t.app.inject({
      method: 'GET',
      url: '/private/kyc',
      headers: { cookie: `handoff_session=${randomToken(32)}` },
    });
    assert.equal(forged.statusCode, 401);
    assert.match(forged.body, /Your session has ended/);

    for (const [method, url] of [
      ['GET', '/private/nothing-here'],
      ['POST', '/private/kyc/extra'],
    ] as const) {
      const missing = await t.app.inject({ method, url });
      assert.equal(missing.statusCode, 404, url);
      assertPageHeaders(missing, url);
      assert.match(missing.body, /Page not found/);
    }
    const json = await t.app.inject({
      method: 'POST',
      url: '/private/kyc',
      headers: { 'content-type': 'application/json', 'sec-fetch-site': 'same-origin' },
      payload: '{"token":"x"}',
    });
    assert.equal(json.statusCode, 415, 'forms only');
    assertPageHeaders(json, '415');
    assert.match(json.body, /We could not read that/);
    const huge = await t.app.inject({
      method: 'POST',
      url: '/private/kyc',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `a=${'x'.repeat(t.ctx.config.bodyLimitBytes + 1)}`,
    });
    assert.equal(huge.statusCode, 413);
    assertPageHeaders(huge, '413');
    assert.doesNotMatch(huge.body, /at .*\.ts:\d+/, 'never a stack trace');

    const signedOut = await t.app.inject({ method: 'GET', url: '/private/signed-out' });
    assert.equal(signedOut.statusCode, 200);
    assertPageHeaders(signedOut, 'signed out');

    const css = await t.app.inject({ method: 'GET', url: '/private/assets/handoff.css' });
    assert.equal(css.statusCode, 200);
    assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
    assert.match(anonymous.body, /<link rel="stylesheet" href="\/private\/assets\/handoff\.css\?v=[0-9a-f]{12}">/);
  });

  test('an unexpected failure on a page: an HTML 500 with a request id, no detail, the page headers', async () => {
    const crash = defineRoute({
      ...pageRoute,
      method: 'GET',
      url: '/private/test-crash',
      summary: 'test only',
      async handler() {
        throw new TypeError('secret-detail: db password hunter2');
      },
    });
    const app = buildApp(t.ctx, [...routes, crash]);
    try {
      const response = await app.inject({
        method: 'GET',
        url: '/private/test-crash',
        headers: { 'x-request-id': 'req-42' },
      });
      assert.equal(response.statusCode, 500);
      assertPageHeaders(response, '500');
      assert.match(response.body, /Something went wrong/);
      assert.match(response.body, /Reference for support: req-42/);
      assert.doesNotMatch(response.body, /secret-detail|hunter2|TypeError/);
    } finally {
      await app.close();
    }
  });

  test('sign out: POST with its CSRF token ends the server-side session; without it nothing happens', async () => {
    const browser = await signIn(alice);
    const page = await browser.get('/private/kyc');
    const fields = formFields(page.body, '/private/logout');
    const cookie = browser.cookies.get('handoff_session')!;

    const forged = await browser.post('/private/logout', {});
    assert.equal(forged.statusCode, 403);
    assert.equal((await browser.get('/private/kyc')).statusCode, 200, 'still signed in');
    assert.equal((await browser.post('/private/logout', fields, { 'sec-fetch-site': 'cross-site' })).statusCode, 403);

    const out = await browser.post('/private/logout', fields);
    assert.equal(out.statusCode, 303);
    assert.equal(out.headers.location, '/private/signed-out');
    assert.ok(setCookies(out).some((c) => /^handoff_session=; .*Max-Age=0$/.test(c)));
    const copy = await t.app.inject({
      method: 'GET',
      url: '/private/kyc',
      headers: { cookie: `handoff_session=${cookie}` },
    });
    assert.equal(copy.statusCode, 401, 'a surviving copy of the cookie is worthless');
    const gone = await t.ctx.db
      .selectFrom('page_sessions')
      .select('id_hash')
      .where('id_hash', '=', sha256Hex(cookie))
      .execute();
    assert.equal(gone.length, 0);
  });

  describe('identifier linking', () => {
    const partnerOrigin = 'https://app.acme.example';

    async function register(identifier: string, returnUrl = `${partnerOrigin}/linked?step=done`) {
      const response = await t.app.inject({
        method: 'POST',
        url: '/api/v1/user/register-identifier',
        headers: { 'x-api-key': partner.api_key, 'content-type': 'application/json' },
        payload: JSON.stringify({ identifier, returnUrl }),
      });
      assert.equal(response.statusCode, 200, response.body);
      const url = new URL(response.json().redirectUrl as string);
      assert.equal(url.origin, 'http://handoff.test');
      return `${url.pathname}${url.search}`;
    }

    before(async () => {
      await updatePartnerSettings(t.ctx.db, 'ACME01', { allowedReturnOrigins: [partnerOrigin] });
    });

    test('round trip: sign in with email and password, confirm, back to the registered returnUrl', async () => {
      const identifier = identifierOf('bobLinkRoundTrip');
      const page = await register(identifier);
      const browser = new Browser(t);
      const signInForm = await browser.get(page);
      assert.equal(signInForm.statusCode, 200);
      assertPageHeaders(signInForm, 'link sign-in');
      assert.match(signInForm.body, /Acme Wallet asks to connect to your account/);
      const fields = formFields(signInForm.body, '/private/link-identifier/sign-in');

      const wrong = await browser.post('/private/link-identifier/sign-in', {
        ...fields,
        email: 'bob@example.com',
        password: 'nope',
      });
      assert.equal(wrong.statusCode, 401);
      assert.match(wrong.body, /The email address or password is not correct/);
      assert.match(wrong.body, /value="bob@example\.com"/, 'the email is kept');
      const otherTenant = await browser.post('/private/link-identifier/sign-in', {
        ...fields,
        email: 'carol@example.com',
        password,
      });
      assert.equal(otherTenant.statusCode, 401, "another partner's user cannot sign in here");
      const noCsrf = await browser.post('/private/link-identifier/sign-in', {
        request: fields.request!,
        email: 'bob@example.com',
        password,
      });
      assert.equal(noCsrf.statusCode, 403);

      const signedIn = await browser.post('/private/link-identifier/sign-in', {
        ...fields,
        email: 'BOB@example.com',
        password,
      });
      assert.equal(signedIn.statusCode, 303);
      assert.equal(signedIn.headers.location, page);
      const confirm = await browser.get(page);
      assert.equal(confirm.statusCode, 200);
      assert.match(confirm.body, /Connect Acme Wallet to <span class="address">b…@example\.com\?<\/span>/);
      assert.match(
        String(confirm.headers['content-security-policy']),
        /form-action 'self' https:\/\/app\.acme\.example;/,
      );
      const confirmFields = formFields(confirm.body, '/private/link-identifier/confirm');
      assert.equal(
        (await browser.post('/private/link-identifier/confirm', { request: confirmFields.request! })).statusCode,
        403,
      );

      const linked = await browser.post('/private/link-identifier/confirm', confirmFields);
      assert.equal(linked.statusCode, 303);
      assert.equal(linked.headers.location, `${partnerOrigin}/linked?step=done`);
      assertPageHeaders(linked, 'link redirect');

      // The partner can now act for bob with the identifier alone.
      const asBob = await loginLinkFromApi(identifier);
      assert.equal(asBob.uuid, bob.uuid);
      const reused = await browser.post('/private/link-identifier/confirm', confirmFields);
      assert.equal(reused.statusCode, 404, 'a link request works once');
      assert.match(reused.body, /This link is no longer valid/);

      await t.ctx.audit.flush();
      const actions = await t.ctx.db
        .selectFrom('audit_events')
        .select(['action', 'outcome', 'reason'])
        .where('surface', '=', 'pages')
        .where('participant_id', '=', bob.uuid)
        .execute();
      assert.ok(actions.some((a) => a.action === 'user.login' && a.outcome === 'rejected' && a.reason === 'ER820'));
      assert.ok(actions.some((a) => a.action === 'user.login' && a.outcome === 'success'));
      assert.ok(actions.some((a) => a.action === 'identifier.link' && a.outcome === 'success'));
    });

    test('a return origin the partner has not registered (or no longer has) is refused, nothing spent', async () => {
      const token = randomToken(32);
      await insertLinkRequest(t.ctx.db, {
        tokenHash: sha256Hex(token),
        identifier: identifierOf('evilReturn'),
        partnerId,
        returnUrl: 'https://evil.example/steal',
        createdAt: new Date(t.clock.now),
        expiresAt: new Date(t.clock.now + 3600_000),
      });
      const refused = await new Browser(t).get(`/private/link-identifier?request=${token}`);
      assert.equal(refused.statusCode, 400);
      assertPageHeaders(refused, 'return url refused');
      assert.match(refused.body, /We cannot send you back/);
      assert.doesNotMatch(refused.body, /evil\.example/, 'no link to the unregistered origin');

      const identifier = identifierOf('removedOrigin');
      const page = await register(identifier);
      const browser = new Browser(t);
      const fields = formFields((await browser.get(page)).body, '/private/link-identifier/sign-in');
      assert.equal(
        (await browser.post('/private/link-identifier/sign-in', { ...fields, email: 'bob@example.com', password }))
          .statusCode,
        303,
      );
      const confirmFields = formFields((await browser.get(page)).body, '/private/link-identifier/confirm');
      await updatePartnerSettings(t.ctx.db, 'ACME01', { allowedReturnOrigins: ['https://new.acme.example'] });
      const atCompletion = await browser.post('/private/link-identifier/confirm', confirmFields);
      assert.equal(atCompletion.statusCode, 400, 're-checked at completion');
      assert.match(atCompletion.body, /We cannot send you back/);
      assert.equal(atCompletion.headers.location, undefined);

      await updatePartnerSettings(t.ctx.db, 'ACME01', { allowedReturnOrigins: [partnerOrigin] });
      const retried = await browser.post('/private/link-identifier/confirm', confirmFields);
      assert.equal(retried.statusCode, 303, 'the refused attempt spent nothing');
    });

    test('unknown and expired link requests', async () => {
      const browser = new Browser(t);
      for (const url of ['/private/link-identifier', `/private/link-identifier?request=${randomToken(32)}`]) {
        const response = await browser.get(url);
        assert.equal(response.statusCode, 404, url);
        assert.match(response.body, /This link is no longer valid/);
      }
      const page = await register(identifierOf('expiringRequest'));
      t.clock.advance(3601);
      assert.equal((await browser.get(page)).statusCode, 404);
    });
  });

  test('a session started on one instance works on another (shared database)', {
    skip: !testDatabaseUrl && 'needs PostgreSQL',
  }, async () => {
    const browser = await signIn(alice);
    const second = await openServerContext(t.ctx.config, {
      logger: createLogger(t.ctx.config, new LogCapture()),
      clock: t.clock.read,
    });
    const app = buildApp(second.ctx);
    try {
      const response = await app.inject({
        method: 'GET',
        url: '/private/kyc',
        headers: { cookie: `handoff_session=${browser.cookies.get('handoff_session')}` },
      });
      assert.equal(response.statusCode, 200);
      assert.match(response.body, /a…@example\.com/);
    } finally {
      await app.close();
      await second.close();
    }
  });
});

describe(`hosted pages on an https public origin (${storeName})`, () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ env: { HANDOFF_PUBLIC_URL: 'https://handoff.example' } });
  });
  after(() => t.close());

  test('cookies are Secure', async () => {
    await t.createPartner({ platformCode: 'SECU01' });
    const partnerId = (await findPartnerByCode(t.ctx.db, 'SECU01'))!.id;
    const user = await t.createUser({ partnerCode: 'SECU01', email: 'dana@example.com' });
    const token = randomToken(32);
    await insertLoginToken(t.ctx.db, {
      tokenHash: sha256Hex(token),
      partnerId,
      user: { participantId: user.uuid },
      createdAt: new Date(t.clock.now),
      expiresAt: new Date(t.clock.now + 300_000),
    });
    const browser = new Browser(t);
    const confirmation = await browser.get(`/private/kyc?token=${token}&uuid=${user.uuid}`);
    assert.ok(setCookies(confirmation).every((c) => c.includes('; Secure')));
    const signedIn = await browser.post('/private/kyc', formFields(confirmation.body, '/private/kyc'));
    assert.equal(signedIn.statusCode, 303);
    const session = setCookies(signedIn).find((c) => c.startsWith('handoff_session='));
    assert.match(session ?? '', /; HttpOnly; SameSite=Lax; Secure; Max-Age=\d+$/);
  });
});
