import { verificationOf, verificationSteps } from '../account-status.ts';
import { type Html, html } from '../html.ts';
import { layout } from '../layout.ts';
import type { SignedIn } from '../sessions.ts';
import type { SignedInChrome } from './chrome.ts';

function stepClass(index: number, reached: number, blocked: boolean): string {
  if (index < reached) return 'done';
  if (index === reached) return blocked ? 'blocked' : 'current';
  return '';
}

/** Where the user's identity verification stands, and the one next step. */
export function kycView(chrome: SignedInChrome, signedIn: SignedIn): Html {
  const verification = verificationOf(signedIn.participant.status, signedIn.partner.name);
  return layout({
    title: 'Identity verification',
    ...chrome,
    tab: 'kyc',
    body: html`<section class="card" aria-labelledby="title">
<h1 id="title">Identity verification</h1>
<div class="status-line"><span class="small">Status</span><span class="badge ${verification.tone}">${verification.label}</span></div>
<div class="notice ${verification.tone}"><p><strong>Next step</strong><br>${verification.nextStep}</p></div>
${verification.action && html`<div class="actions"><a class="button" href="${verification.action.href}">${verification.action.label}</a></div>`}
</section>
<section class="card" aria-labelledby="progress">
<h2 id="progress">Progress</h2>
<ol class="steps">${verificationSteps.map(
      (step, index) =>
        html`<li class="${stepClass(index, verification.reached, verification.blocked)}"><span class="title">${step.title}</span><span class="detail">${step.detail}</span></li>`,
    )}</ol>
</section>`,
  });
}
