import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.ts';
import { sha256Hex } from '../../crypto/random.ts';
import { auditPage } from '../../pages/audit.ts';
import { csrfToken } from '../../pages/csrf.ts';
import { queryValue } from '../../pages/forms.ts';
import { type PrivatePage, privatePageNames } from '../../pages/layout.ts';
import { checkPostedForm } from '../../pages/posted-form.ts';
import { type PageProblem, problems, unknownPlatform } from '../../pages/problems.ts';
import { seeOther, sendPage, sendProblem } from '../../pages/respond.ts';
import { ensurePreSession, readPreSession, readSession, startSession } from '../../pages/sessions.ts';
import { requireSignedIn, signedInChrome } from '../../pages/signed-in.ts';
import { confirmSignInView } from '../../pages/views/confirm-sign-in.ts';
import { kycView } from '../../pages/views/kyc.ts';
import { upgradeView } from '../../pages/views/upgrade.ts';
import { peekLoginToken, type SpendFailure, spendLoginToken } from '../../store/login-tokens.ts';
import { findPartnerById } from '../../store/partners.ts';
import { defineRoute, type RouteDefinition } from '../route.ts';
import { pageRoute } from './page-route.ts';
import { isSupportTopic, supportPage } from './support.ts';

const linkProblems: Record<SpendFailure, PageProblem> = {
  not_found: 'link_not_found',
  expired: 'link_expired',
  no_user: 'link_no_user',
  partner_disabled: 'platform_disabled',
};

/** On a refused link, a user who is still signed in gets a way back to the page instead of a dead end. */
async function sendLinkProblem(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  page: PrivatePage,
  problem: PageProblem,
) {
  const state = await readSession(ctx, request, reply);
  return sendProblem(ctx, reply, {
    problem,
    ...(state.state === 'active'
      ? { platform: state.partner.name, continueTo: { href: `/private/${page}`, label: 'Go to your account' } }
      : {}),
  });
}

/** GET with `?token&uuid`: who is being signed in, and a button. Spends nothing. */
async function showSignInConfirmation(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  page: PrivatePage,
) {
  const token = queryValue(request, 'token');
  const uuid = queryValue(request, 'uuid');
  if (!token || !uuid) return sendLinkProblem(ctx, request, reply, page, 'link_incomplete');
  const peeked = await peekLoginToken(ctx.db, {
    tokenHash: sha256Hex(token),
    participantId: uuid,
    now: new Date(ctx.clock()),
  });
  if (!peeked.ok) return sendLinkProblem(ctx, request, reply, page, linkProblems[peeked.reason]);
  const partner = await findPartnerById(ctx.db, peeked.partnerId);
  const preSession = ensurePreSession(ctx, request, reply);
  return sendPage(
    reply,
    200,
    confirmSignInView({
      page,
      platform: partner?.name ?? unknownPlatform,
      email: peeked.email,
      token,
      uuid,
      csrf: csrfToken(ctx.masterKey, preSession, `/private/${page}`),
    }),
  );
}

async function showSignedInPage(ctx: AppContext, request: FastifyRequest, reply: FastifyReply, page: PrivatePage) {
  const signedIn = await requireSignedIn(ctx, request, reply);
  if (!signedIn) return reply;
  if (page === 'kyc') return sendPage(reply, 200, kycView(signedInChrome(ctx, signedIn), signedIn));
  if (page === 'upgrade') return sendPage(reply, 200, upgradeView(signedInChrome(ctx, signedIn), signedIn));
  const topic = queryValue(request, 'topic');
  return sendPage(
    reply,
    200,
    await supportPage(ctx, signedIn, {
      form: { topic: isSupportTopic(topic) ? topic : 'other', message: '' },
      sent: queryValue(request, 'sent') === '1',
    }),
  );
}

function showPageRoute(page: PrivatePage): RouteDefinition {
  return defineRoute({
    ...pageRoute,
    method: 'GET',
    url: `/private/${page}`,
    summary: `Hosted page ${page}: with ?token&uuid a sign-in confirmation, otherwise the signed-in page`,
    async handler(request, reply, ctx) {
      const hasLink = queryValue(request, 'token') !== undefined || queryValue(request, 'uuid') !== undefined;
      return hasLink ? showSignInConfirmation(ctx, request, reply, page) : showSignedInPage(ctx, request, reply, page);
    },
  });
}

/** The confirmation's button: spends the token (one conditional statement), starts a fresh session, 303. */
function signInWithLinkRoute(page: PrivatePage): RouteDefinition {
  const action = `/private/${page}`;
  return defineRoute({
    ...pageRoute,
    method: 'POST',
    url: action,
    summary: `Hosted page ${page}: redeem the one-time login token and start a session`,
    async handler(request, reply, ctx) {
      const check = checkPostedForm(ctx, request, readPreSession(request), action);
      if (!check.ok) return sendProblem(ctx, reply, { problem: check.problem });
      const token = check.form.get('token');
      const uuid = check.form.get('uuid');
      if (!token || !uuid) return sendLinkProblem(ctx, request, reply, page, 'link_incomplete');
      const spent = await spendLoginToken(ctx.db, {
        tokenHash: sha256Hex(token),
        participantId: uuid,
        now: new Date(ctx.clock()),
      });
      if (!spent.ok) {
        const problem = linkProblems[spent.reason];
        auditPage(ctx, request, {
          action: 'login_token.redeem',
          outcome: 'rejected',
          reason: problems[problem].code ?? problem,
        });
        return sendLinkProblem(ctx, request, reply, page, problem);
      }
      await startSession(ctx, request, reply, { ...spent.token, authMethod: 'login_token' });
      auditPage(ctx, request, { action: 'login_token.redeem', outcome: 'success', ...spent.token });
      ctx.metrics.tokensRedeemed.inc({ kind: 'login_token' });
      return seeOther(reply, action);
    },
  });
}

export const privatePageRoutes: readonly RouteDefinition[] = privatePageNames.flatMap((page) => [
  showPageRoute(page),
  signInWithLinkRoute(page),
]);
