import type { FastifyReply, FastifyRequest } from 'fastify';
import { enforceRateLimit } from '../../cache/enforce-rate-limit.ts';
import type { AppContext } from '../../context.ts';
import { verifyDecoyPassword, verifyPassword } from '../../crypto/passwords.ts';
import { sha256Hex } from '../../crypto/random.ts';
import { auditPage } from '../../pages/audit.ts';
import { csrfToken } from '../../pages/csrf.ts';
import { queryValue } from '../../pages/forms.ts';
import { checkPostedForm } from '../../pages/posted-form.ts';
import { seeOther, sendPage, sendProblem } from '../../pages/respond.ts';
import { ensurePreSession, readPreSession, readSession, type SignedIn, startSession } from '../../pages/sessions.ts';
import { requireSignedIn, signedInChrome } from '../../pages/signed-in.ts';
import { linkConfirmView, linkSignInView } from '../../pages/views/link-identifier.ts';
import { completeLinkRequest, findLinkRequest } from '../../store/identifiers.ts';
import { findParticipantByEmail } from '../../store/participants.ts';
import { findPartnerById, type Partner } from '../../store/partners.ts';
import { loginAttemptsPerMinute } from '../partner-api/authenticate.ts';
import { isAllowedReturnUrl } from '../partner-api/identifiers.ts';
import { defineRoute } from '../route.ts';
import { pageRoute } from './page-route.ts';

/**
 * The page behind register-identifier's redirectUrl: the user signs in with email and password (a page session
 * of the request's partner, however obtained, also counts), confirms, and the browser returns to the partner's
 * returnUrl. The return origin is checked against the partner's registered origins when the page is shown and
 * again right before the link is made, so an origin the partner has since removed is refused, not followed.
 */
const pageUrl = '/private/link-identifier';
const signInAction = '/private/link-identifier/sign-in';
const confirmAction = '/private/link-identifier/confirm';

interface LiveRequest {
  tokenHash: string;
  token: string;
  identifier: string;
  returnUrl: string;
  partner: Partner;
}

/** The link request behind `token` if it is unused, unexpired and its partner active; nothing is spent. */
async function findLiveRequest(ctx: AppContext, token: string | null | undefined): Promise<LiveRequest | undefined> {
  if (!token) return undefined;
  const tokenHash = sha256Hex(token);
  const request = await findLinkRequest(ctx.db, tokenHash, new Date(ctx.clock()));
  if (!request) return undefined;
  const partner = await findPartnerById(ctx.db, request.partner_id);
  if (partner?.status !== 'active') return undefined;
  return { tokenHash, token, identifier: request.identifier, returnUrl: request.return_url, partner };
}

const returnAllowed = (live: LiveRequest) =>
  isAllowedReturnUrl(live.returnUrl, live.partner.settings.allowedReturnOrigins);

const pageOf = (live: LiveRequest) => `${pageUrl}?request=${encodeURIComponent(live.token)}`;

function showConfirmation(ctx: AppContext, reply: FastifyReply, live: LiveRequest, signedIn: SignedIn) {
  return sendPage(
    reply,
    200,
    linkConfirmView(signedInChrome(ctx, signedIn), {
      email: signedIn.participant.email,
      request: live.token,
      csrf: csrfToken(ctx.masterKey, signedIn.secret, confirmAction),
      returnUrl: live.returnUrl,
    }),
    // The confirm POST answers 303 to the partner's origin; form-action covers that redirect.
    { formTargets: [new URL(live.returnUrl).origin] },
  );
}

function showSignIn(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  live: LiveRequest,
  failure?: { status: number; email: string; error: string },
) {
  const preSession = ensurePreSession(ctx, request, reply);
  return sendPage(
    reply,
    failure?.status ?? 200,
    linkSignInView({
      platform: live.partner.name,
      request: live.token,
      csrf: csrfToken(ctx.masterKey, preSession, signInAction),
      email: failure?.email,
      error: failure?.error,
    }),
  );
}

export const linkIdentifierPageRoute = defineRoute({
  ...pageRoute,
  method: 'GET',
  url: pageUrl,
  summary: 'Hosted page: sign in and confirm linking a partner identifier to the account',
  async handler(request, reply, ctx) {
    const live = await findLiveRequest(ctx, queryValue(request, 'request'));
    if (!live) return sendProblem(ctx, reply, { problem: 'link_request_not_found' });
    if (!returnAllowed(live))
      return sendProblem(ctx, reply, { problem: 'return_url_refused', platform: live.partner.name });
    const state = await readSession(ctx, request, reply);
    if (state.state === 'active' && state.partner.id === live.partner.id)
      return showConfirmation(ctx, reply, live, state);
    return showSignIn(ctx, request, reply, live);
  },
});

export const linkIdentifierSignInRoute = defineRoute({
  ...pageRoute,
  method: 'POST',
  url: signInAction,
  summary: 'Hosted page: email and password sign-in for identifier linking',
  async handler(request, reply, ctx) {
    const check = checkPostedForm(ctx, request, readPreSession(request), signInAction);
    if (!check.ok) return sendProblem(ctx, reply, { problem: check.problem });
    const live = await findLiveRequest(ctx, check.form.get('request'));
    if (!live) return sendProblem(ctx, reply, { problem: 'link_request_not_found' });
    const email = (check.form.get('email') ?? '').trim();
    const password = check.form.get('password') ?? '';
    if (email === '' || password === '') {
      return showSignIn(ctx, request, reply, live, {
        status: 400,
        email,
        error: 'Enter your email address and password.',
      });
    }
    // The same counters as the partner API's user login: a guesser gains nothing by switching surfaces.
    await enforceRateLimit(ctx, `login:ip:${request.ip}`, loginAttemptsPerMinute.perIp);
    await enforceRateLimit(
      ctx,
      `login:user:${live.partner.id}:${email.toLowerCase()}`,
      loginAttemptsPerMinute.perAccount,
    );
    const user = await findParticipantByEmail(ctx.db, live.partner.id, email);
    const valid = user?.passwordHash
      ? await verifyPassword(password, user.passwordHash)
      : await verifyDecoyPassword(password);
    if (!user || !valid || user.kind === 'platform') {
      auditPage(ctx, request, {
        action: 'user.login',
        outcome: 'rejected',
        reason: 'ER820',
        partnerId: live.partner.id,
        participantId: user?.uuid ?? null,
      });
      ctx.metrics.tokensRejected.inc({ surface: 'pages', reason: 'ER820' });
      return showSignIn(ctx, request, reply, live, {
        status: 401,
        email,
        error: 'The email address or password is not correct.',
      });
    }
    await startSession(ctx, request, reply, {
      partnerId: live.partner.id,
      participantId: user.uuid,
      authMethod: 'password',
    });
    auditPage(ctx, request, {
      action: 'user.login',
      outcome: 'success',
      partnerId: live.partner.id,
      participantId: user.uuid,
    });
    return seeOther(reply, pageOf(live));
  },
});

export const linkIdentifierConfirmRoute = defineRoute({
  ...pageRoute,
  method: 'POST',
  url: confirmAction,
  summary: "Hosted page: link the identifier and return to the partner's registered returnUrl",
  async handler(request, reply, ctx) {
    const signedIn = await requireSignedIn(ctx, request, reply);
    if (!signedIn) return reply;
    const check = checkPostedForm(ctx, request, signedIn.secret, confirmAction);
    if (!check.ok) return sendProblem(ctx, reply, { problem: check.problem, platform: signedIn.partner.name });
    const live = await findLiveRequest(ctx, check.form.get('request'));
    // Another partner's request is as unknown as a used one.
    if (!live || live.partner.id !== signedIn.partner.id) {
      return sendProblem(ctx, reply, { problem: 'link_request_not_found', platform: signedIn.partner.name });
    }
    const audit = { action: 'identifier.link', partnerId: live.partner.id, participantId: signedIn.participant.uuid };
    if (!returnAllowed(live)) {
      auditPage(ctx, request, { ...audit, outcome: 'rejected', reason: 'ER822' });
      return sendProblem(ctx, reply, { problem: 'return_url_refused', platform: live.partner.name });
    }
    const linked = await completeLinkRequest(ctx.db, {
      tokenHash: live.tokenHash,
      participantId: signedIn.participant.uuid,
      partnerId: live.partner.id,
      now: new Date(ctx.clock()),
    });
    if (!linked.ok) {
      const problem = linked.reason === 'taken' ? 'identifier_taken' : 'link_request_not_found';
      auditPage(ctx, request, {
        ...audit,
        outcome: 'rejected',
        reason: linked.reason === 'taken' ? 'ER706' : 'not_found',
      });
      return sendProblem(ctx, reply, { problem, platform: live.partner.name });
    }
    auditPage(ctx, request, { ...audit, outcome: 'success' });
    ctx.metrics.tokensRedeemed.inc({ kind: 'link_request' });
    // linked.returnUrl is the row's return_url, the very value checked above.
    return seeOther(reply, linked.returnUrl);
  },
});
