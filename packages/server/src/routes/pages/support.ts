import { enforceRateLimit } from '../../cache/enforce-rate-limit.ts';
import type { AppContext } from '../../context.ts';
import { auditPage } from '../../pages/audit.ts';
import { csrfToken } from '../../pages/csrf.ts';
import type { Html } from '../../pages/html.ts';
import { checkPostedForm } from '../../pages/posted-form.ts';
import { seeOther, sendPage, sendProblem } from '../../pages/respond.ts';
import type { SignedIn } from '../../pages/sessions.ts';
import { requireSignedIn, signedInChrome } from '../../pages/signed-in.ts';
import { type SupportForm, supportView } from '../../pages/views/support.ts';
import type { SupportTopic } from '../../store/schema.ts';
import {
  insertSupportMessage,
  listSupportMessages,
  maxSupportMessageLength,
  supportTopics,
} from '../../store/support-messages.ts';
import { defineRoute } from '../route.ts';
import { pageRoute } from './page-route.ts';

const postAction = '/private/support/messages';
/** Enough for a conversation, too few to flood support: per user, per 10 minutes. */
const messagesPerWindow = { limit: 10, windowMs: 10 * 60_000 };
const shownMessages = 50;

export const isSupportTopic = (value: string | null | undefined): value is SupportTopic =>
  supportTopics.includes(value as SupportTopic);

export async function supportPage(
  ctx: AppContext,
  signedIn: SignedIn,
  options: { form: SupportForm; sent: boolean },
): Promise<Html> {
  const messages = await listSupportMessages(ctx.db, {
    partnerId: signedIn.partner.id,
    participantId: signedIn.participant.uuid,
    limit: shownMessages,
  });
  return supportView(signedInChrome(ctx, signedIn), signedIn, {
    messages,
    form: options.form,
    sent: options.sent,
    csrf: csrfToken(ctx.masterKey, signedIn.secret, postAction),
  });
}

export const postSupportMessageRoute = defineRoute({
  ...pageRoute,
  method: 'POST',
  url: postAction,
  summary: 'Hosted page: send a support message (stored, listed back on the support page)',
  async handler(request, reply, ctx) {
    const signedIn = await requireSignedIn(ctx, request, reply);
    if (!signedIn) return reply;
    const check = checkPostedForm(ctx, request, signedIn.secret, postAction);
    if (!check.ok) return sendProblem(ctx, reply, { problem: check.problem, platform: signedIn.partner.name });
    const topicField = check.form.get('topic');
    const topic = isSupportTopic(topicField) ? topicField : 'other';
    // Line endings as browsers send them (CRLF) would count twice against the limit the textarea enforces.
    const message = (check.form.get('message') ?? '').replace(/\r\n/g, '\n').trim();
    const error =
      message === ''
        ? 'Write a message before sending.'
        : message.length > maxSupportMessageLength
          ? `Shorten the message to ${maxSupportMessageLength} characters or fewer.`
          : undefined;
    if (error)
      return sendPage(reply, 400, await supportPage(ctx, signedIn, { form: { topic, message, error }, sent: false }));
    await enforceRateLimit(
      ctx,
      `support:${signedIn.participant.uuid}`,
      messagesPerWindow.limit,
      messagesPerWindow.windowMs,
    );
    await insertSupportMessage(ctx.db, {
      partnerId: signedIn.partner.id,
      participantId: signedIn.participant.uuid,
      topic,
      body: message,
      createdAt: new Date(ctx.clock()),
    });
    auditPage(ctx, request, {
      action: 'support.message',
      outcome: 'success',
      partnerId: signedIn.partner.id,
      participantId: signedIn.participant.uuid,
    });
    return seeOther(reply, '/private/support?sent=1');
  },
});
