import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { createPartnerAccount, createUser, type NewPartnerAccount } from '../../src/admin/accounts.ts';
import { buildApp } from '../../src/app.ts';
import { randomToken, sha256Hex } from '../../src/crypto/random.ts';
import { createLogger } from '../../src/logger.ts';
import { openServerContext, type ServerContext } from '../../src/server.ts';
import { insertLinkRequest } from '../../src/store/identifiers.ts';
import { findPartnerByCode, updatePartnerSettings } from '../../src/store/partners.ts';
import {
  createTestDatabase,
  LogCapture,
  storeName,
  TestClock,
  testConfig,
  testDatabaseUrl,
  testRedisUrl,
} from '../harness.ts';

/**
 * The hosted pages in a real browser: Debian's chromium driven by playwright-core (which never downloads a
 * browser), against the real app listening on a loopback port. Screenshots of every page, at phone and desktop
 * width, land in test-output/screenshots/ (git-ignored).
 */
const chromiumPath = '/usr/bin/chromium';
const skip = existsSync(chromiumPath)
  ? false
  : `no browser at ${chromiumPath}: install Debian's chromium (apt-get install -y chromium) to run these tests`;
const screenshotDir = path.resolve(import.meta.dirname, '../../../../test-output/screenshots');
const viewports = { phone: { width: 390, height: 844 }, desktop: { width: 1280, height: 800 } } as const;
const identifierOf = (seed: string) => seed.padEnd(40, '0');

/** A port that is free right now: the public URL must name it before the app exists. */
async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The partner's own web app, on another origin: where the identifier-linking page sends the user back. */
async function startPartnerSite(): Promise<{ origin: string; server: Server }> {
  const server = createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(
      `<!doctype html><title>Acme Wallet</title><h1>Back at Acme Wallet</h1><p id="path">${request.url}</p>`,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

describe(`hosted pages in chromium (${storeName})`, { skip }, () => {
  const clock = new TestClock();
  const password = 'correct horse battery';
  const aliceIdentifier = identifierOf('browserAlice');
  let origin: string;
  let server: ServerContext;
  let app: ReturnType<typeof buildApp>;
  let dropDatabase: (() => Promise<void>) | undefined;
  let partnerSite: { origin: string; server: Server };
  let browser: Browser;
  let partner: NewPartnerAccount;

  before(async () => {
    mkdirSync(screenshotDir, { recursive: true });
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    const database = testDatabaseUrl ? await createTestDatabase(testDatabaseUrl) : undefined;
    dropDatabase = database?.drop;
    const config = testConfig({
      PORT: String(port),
      HANDOFF_PUBLIC_URL: origin,
      ...(database ? { DATABASE_URL: database.url } : {}),
      ...(database && testRedisUrl ? { REDIS_URL: testRedisUrl, HANDOFF_REDIS_PREFIX: `test:${randomToken(6)}:` } : {}),
    });
    server = await openServerContext(config, {
      logger: createLogger(config, new LogCapture()),
      clock: clock.read,
      inMemory: !database,
    });
    app = buildApp(server.ctx);
    await app.listen({ port, host: '127.0.0.1' });
    partnerSite = await startPartnerSite();

    partner = await createPartnerAccount(server.ctx.db, server.ctx.masterKey, {
      name: 'Acme Wallet',
      platformCode: 'ACME01',
      settings: { allowedReturnOrigins: [partnerSite.origin] },
    });
    const now = new Date(clock.now);
    await createUser(
      server.ctx.db,
      {
        partnerCode: 'ACME01',
        email: 'alice@example.com',
        password,
        status: 'pending_approval',
        identifier: aliceIdentifier,
      },
      now,
    );
    await createUser(
      server.ctx.db,
      { partnerCode: 'ACME01', email: 'bob@example.com', password, status: 'approved' },
      now,
    );

    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    await server?.close();
    await new Promise((resolve) => partnerSite?.server.close(resolve));
    await dropDatabase?.();
  });

  const api = async (method: 'GET' | 'POST', url: string, headers: Record<string, string>, body?: unknown) => {
    const response = await fetch(`${origin}${url}`, {
      method,
      headers: { 'x-api-key': partner.api_key, ...headers, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    assert.equal(response.status, 200, await response.clone().text());
    return response.json();
  };

  /** What a partner does: ask for a login token for its user and append it to the private URL from system info. */
  async function loginLink(page: 'kyc' | 'upgrade' | 'support' = 'kyc', identifier = aliceIdentifier) {
    const info = (await api('GET', '/api/v1/system/info', {})) as { privateUrls: Record<string, string> };
    const { token, uuid } = (await api('GET', '/api/v1/user/login-token', { 'user-identifier': identifier })) as {
      token: string;
      uuid: string;
    };
    const url = new URL(info.privateUrls[page] as string);
    url.searchParams.set('token', token);
    url.searchParams.set('uuid', uuid);
    return url.toString();
  }

  async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: viewports.phone });
    return { context, page: await context.newPage() };
  }

  /** Full-page screenshots at phone and desktop width. */
  async function screenshot(page: Page, name: string) {
    for (const [label, viewport] of Object.entries(viewports)) {
      await page.setViewportSize(viewport);
      await page.screenshot({ path: path.join(screenshotDir, `${name}-${label}.png`), fullPage: true });
    }
    await page.setViewportSize(viewports.phone);
  }

  const heading = (page: Page) => page.locator('h1').innerText();

  test('link → confirm → signed in → reload stays signed in → the same link again is refused', async () => {
    const { context, page } = await newPage();
    const link = await loginLink('kyc');
    const confirmation = await page.goto(link);
    assert.equal(confirmation?.status(), 200);
    assert.equal(await heading(page), 'Continue as a…@example.com');
    assert.equal(confirmation?.headers()['cache-control'], 'no-store');
    await screenshot(page, '01-confirm-sign-in');

    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(`${origin}/private/kyc`);
    assert.equal(new URL(page.url()).search, '', 'no token left in the address bar');
    assert.equal(await heading(page), 'Identity verification');
    assert.match(await page.locator('.badge').first().innerText(), /Under review/);
    await screenshot(page, '02-kyc');

    await page.reload();
    assert.equal(await heading(page), 'Identity verification', 'still signed in after a reload');
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'handoff_session');
    assert.ok(session?.httpOnly, 'HttpOnly');
    assert.equal(session?.sameSite, 'Lax');
    assert.equal(session?.path, '/private');

    await page.getByRole('link', { name: 'Account tier' }).click();
    assert.equal(await heading(page), 'Account tier');
    assert.match(await page.locator('.status-line .badge').innerText(), /Basic/);
    await screenshot(page, '03-upgrade');

    await page.getByRole('link', { name: 'Support' }).click();
    await page.getByLabel('Topic').selectOption('verification');
    await page.getByLabel('Message', { exact: true }).fill('How long does the review of my passport usually take?');
    await page.getByRole('button', { name: 'Send message' }).click();
    await page.waitForURL(`${origin}/private/support?sent=1`);
    assert.match(await page.locator('.messages').innerText(), /How long does the review of my passport usually take\?/);
    await screenshot(page, '04-support');

    const again = await page.goto(link);
    assert.equal(again?.status(), 400);
    assert.equal(await heading(page), 'This link can no longer be used');
    await screenshot(page, '05-link-used');

    await page.goto(`${origin}/private/kyc`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${origin}/private/signed-out`);
    assert.equal(await heading(page), 'You are signed out');
    await screenshot(page, '06-signed-out');
    await page.goto(`${origin}/private/kyc`);
    assert.equal(await heading(page), 'You are not signed in');
    await context.close();
  });

  test("a mail scanner's prefetch GET does not use up the link; the user's click still works", async () => {
    const link = await loginLink('upgrade');
    const scanned = await fetch(link, { headers: { 'user-agent': 'LinkScanner/1.0' } });
    assert.equal(scanned.status, 200);
    assert.match(await scanned.text(), /Continue as <span class="address">a…@example\.com</);

    const { context, page } = await newPage();
    await page.goto(link);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(`${origin}/private/upgrade`);
    assert.equal(await heading(page), 'Account tier');
    await context.close();
  });

  test('an expired link shows what happened and what to do', async () => {
    const link = await loginLink('kyc');
    clock.advance(5 * 60 + 1);
    const { context, page } = await newPage();
    const response = await page.goto(link);
    assert.equal(response?.status(), 400);
    assert.equal(await heading(page), 'This link has expired');
    assert.match(await page.locator('main').innerText(), /open this page from there again/);
    await screenshot(page, '07-link-expired');
    await context.close();
  });

  test('a form posted without its CSRF token is refused, and the link still works afterwards', async () => {
    const { context, page } = await newPage();
    const link = await loginLink('support');
    await page.goto(link);
    // The test plays an attacker's page that cannot know the token: it drops the field before submitting.
    await page.locator('input[name="csrf"]').evaluate((input) => input.remove());
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Continue' }).click(),
    ]);
    assert.equal(refused.status(), 403);
    await page.waitForLoadState();
    assert.equal(await heading(page), 'Please try again');
    await screenshot(page, '08-form-refused');

    await page.goto(link);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(`${origin}/private/support`);
    assert.equal(await heading(page), 'Support');
    await context.close();
  });

  describe('identifier linking', () => {
    async function registerIdentifier(identifier: string, returnPath = '/linked') {
      const { redirectUrl } = (await api(
        'POST',
        '/api/v1/user/register-identifier',
        {},
        {
          identifier,
          returnUrl: `${partnerSite.origin}${returnPath}`,
        },
      )) as { redirectUrl: string };
      assert.ok(redirectUrl.startsWith(`${origin}/private/link-identifier?request=`));
      return redirectUrl;
    }

    async function signInOnLinkPage(page: Page, email: string, secret: string) {
      await page.getByLabel('Email address').fill(email);
      await page.getByLabel('Password').fill(secret);
      await page.getByRole('button', { name: 'Sign in' }).click();
    }

    test('round trip: sign in, confirm, back on the partner origin, identifier linked', async () => {
      const identifier = identifierOf('browserBobLink');
      const { context, page } = await newPage();
      await page.goto(await registerIdentifier(identifier));
      assert.equal(await heading(page), 'Sign in to continue');
      await screenshot(page, '09-link-sign-in');

      await signInOnLinkPage(page, 'bob@example.com', 'wrong password');
      assert.match(await page.locator('[role="alert"]').innerText(), /not correct/);
      await signInOnLinkPage(page, 'bob@example.com', password);
      assert.equal(await heading(page), 'Connect Acme Wallet to b…@example.com?');
      await screenshot(page, '10-link-confirm');

      await page.getByRole('button', { name: 'Connect account' }).click();
      await page.waitForURL(`${partnerSite.origin}/linked`);
      assert.equal(await heading(page), 'Back at Acme Wallet');

      // The partner now reaches bob through the identifier alone.
      const { uuid } = (await api('GET', '/api/v1/user/login-token', { 'user-identifier': identifier })) as {
        uuid: string;
      };
      const bob = await server.ctx.db
        .selectFrom('participants')
        .select('id')
        .where('email', '=', 'bob@example.com')
        .executeTakeFirstOrThrow();
      assert.equal(uuid, bob.id);
      await context.close();
    });

    test('an unregistered return origin is refused: at the page, and when the partner removed it meanwhile', async () => {
      const partnerId = (await findPartnerByCode(server.ctx.db, 'ACME01'))!.id;
      const request = randomToken(32);
      await insertLinkRequest(server.ctx.db, {
        tokenHash: sha256Hex(request),
        identifier: identifierOf('browserUnregistered'),
        partnerId,
        returnUrl: 'http://localhost:9/not-registered',
        createdAt: new Date(clock.now),
        expiresAt: new Date(clock.now + 3600_000),
      });
      const { context, page } = await newPage();
      const refused = await page.goto(`${origin}/private/link-identifier?request=${request}`);
      assert.equal(refused?.status(), 400);
      assert.equal(await heading(page), 'We cannot send you back');
      await screenshot(page, '11-return-url-refused');

      await page.goto(await registerIdentifier(identifierOf('browserRemovedOrigin')));
      await signInOnLinkPage(page, 'alice@example.com', password);
      assert.match(await heading(page), /^Connect Acme Wallet to a…@example\.com\?$/);
      await updatePartnerSettings(server.ctx.db, 'ACME01', { allowedReturnOrigins: [] });
      try {
        await page.getByRole('button', { name: 'Connect account' }).click();
        await page.waitForLoadState();
        assert.equal(new URL(page.url()).origin, origin, 'the browser stayed on Handoff');
        assert.equal(await heading(page), 'We cannot send you back');
      } finally {
        await updatePartnerSettings(server.ctx.db, 'ACME01', { allowedReturnOrigins: [partnerSite.origin] });
      }
      await context.close();
    });
  });

  test('the pages work with JavaScript disabled', async () => {
    const context = await browser.newContext({ viewport: viewports.phone, javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(await loginLink('kyc'));
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(`${origin}/private/kyc`);
    assert.equal(await heading(page), 'Identity verification');
    await context.close();
  });
});
