import { auditPage } from '../../pages/audit.ts';
import { checkPostedForm } from '../../pages/posted-form.ts';
import { seeOther, sendPage, sendProblem } from '../../pages/respond.ts';
import { endSession, readSession } from '../../pages/sessions.ts';
import { signOutAction } from '../../pages/signed-in.ts';
import { signedOutView } from '../../pages/views/signed-out.ts';
import { defineRoute } from '../route.ts';
import { pageRoute } from './page-route.ts';

const signedOutPage = '/private/signed-out';

export const signOutRoute = defineRoute({
  ...pageRoute,
  method: 'POST',
  url: signOutAction,
  summary: 'Hosted pages: sign out (the server-side session is deleted)',
  async handler(request, reply, ctx) {
    const state = await readSession(ctx, request, reply);
    // Without a session there is nothing to protect: whatever the form, the answer is "signed out".
    if (state.state !== 'active') return seeOther(reply, signedOutPage);
    const check = checkPostedForm(ctx, request, state.secret, signOutAction);
    if (!check.ok) return sendProblem(ctx, reply, { problem: check.problem, platform: state.partner.name });
    await endSession(ctx, request, reply);
    auditPage(ctx, request, {
      action: 'session.sign_out',
      outcome: 'success',
      partnerId: state.partner.id,
      participantId: state.participant.uuid,
    });
    return seeOther(reply, signedOutPage);
  },
});

export const signedOutRoute = defineRoute({
  ...pageRoute,
  method: 'GET',
  url: signedOutPage,
  summary: 'Hosted pages: signed out',
  async handler(_request, reply) {
    return sendPage(reply, 200, signedOutView());
  },
});
