import type { SupportTopic } from '../../store/schema.ts';
import type { SupportMessage } from '../../store/support-messages.ts';
import { maxSupportMessageLength, supportTopics } from '../../store/support-messages.ts';
import { type Html, html } from '../html.ts';
import { layout } from '../layout.ts';
import type { SignedIn } from '../sessions.ts';
import type { SignedInChrome } from './chrome.ts';
import { csrfField, formatUtc } from './common.ts';

export const topicLabels: Record<SupportTopic, string> = {
  verification: 'Identity verification',
  upgrade: 'Account tier',
  payments: 'Payments',
  other: 'Something else',
};

export interface SupportForm {
  topic: SupportTopic;
  message: string;
  error?: string | undefined;
}

/** A message form (stored in the database) and the user's earlier messages, newest first. */
export function supportView(
  chrome: SignedInChrome,
  signedIn: SignedIn,
  view: { messages: readonly SupportMessage[]; form: SupportForm; sent: boolean; csrf: string },
): Html {
  return layout({
    title: 'Support',
    ...chrome,
    tab: 'support',
    body: html`<section class="card" aria-labelledby="title">
<h1 id="title">Support</h1>
<p class="lead">Write to the ${signedIn.partner.name} support team. Your messages are kept with your account below.</p>
${view.sent && html`<div class="notice success" role="status"><p>Message sent. Support will get back to you.</p></div>`}
<form method="post" action="/private/support/messages">
${csrfField(view.csrf)}
<label for="topic">Topic</label>
<select id="topic" name="topic">${supportTopics.map(
      (topic) =>
        html`<option value="${topic}"${topic === view.form.topic ? html` selected` : ''}>${topicLabels[topic]}</option>`,
    )}</select>
<label for="message">Message</label>
<textarea id="message" name="message" maxlength="${maxSupportMessageLength}" required${
      view.form.error ? html` aria-invalid="true" aria-describedby="message-error"` : ''
    }>${view.form.message}</textarea>
${view.form.error && html`<p class="field-error" id="message-error">${view.form.error}</p>`}
<p class="hint">Up to ${maxSupportMessageLength.toLocaleString('en')} characters. Never send passwords or card numbers.</p>
<div class="actions"><button class="button" type="submit">Send message</button></div>
</form>
</section>
<section class="card" aria-labelledby="history">
<h2 id="history">Your messages</h2>
${
  view.messages.length === 0
    ? html`<p class="small">No messages yet.</p>`
    : html`<ul class="messages">${view.messages.map(
        (message) =>
          html`<li><div class="meta">${topicLabels[message.topic]} · ${formatUtc(message.createdAt)}</div><div class="body">${message.body}</div></li>`,
      )}</ul>`
}
</section>`,
  });
}
