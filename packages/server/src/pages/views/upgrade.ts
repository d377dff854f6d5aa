import { tierOf, tierOrder, tiers } from '../account-status.ts';
import { type Html, html } from '../html.ts';
import { layout } from '../layout.ts';
import type { SignedIn } from '../sessions.ts';
import type { SignedInChrome } from './chrome.ts';

/** The user's current tier, the next one and how to reach it. */
export function upgradeView(chrome: SignedInChrome, signedIn: SignedIn): Html {
  const tier = tierOf(signedIn.participant);
  const summary = tier.restricted
    ? html`<div class="notice danger"><p>${tier.reason}</p></div>
<div class="actions"><a class="button" href="${tier.action.href}">${tier.action.label}</a></div>`
    : html`<div class="status-line"><span class="small">Current tier</span><span class="badge success">${tiers[tier.current].name}</span></div>
${
  tier.next
    ? html`<div class="notice"><p><strong>Next: ${tiers[tier.next.tier].name}</strong><br>${tier.next.howTo}</p></div>
${tier.next.action && html`<div class="actions"><a class="button" href="${tier.next.action.href}">${tier.next.action.label}</a></div>`}`
    : html`<div class="notice success"><p>You have the highest tier. Nothing more to unlock.</p></div>`
}`;
  return layout({
    title: 'Account tier',
    ...chrome,
    tab: 'upgrade',
    body: html`<section class="card" aria-labelledby="title">
<h1 id="title">Account tier</h1>
<p class="lead">Your tier decides what you can do with your ${signedIn.partner.name} account.</p>
${summary}
</section>
<section class="card" aria-labelledby="all-tiers">
<h2 id="all-tiers">All tiers</h2>
<ul class="tiers">${tierOrder.map((id) => {
      const current = !tier.restricted && tier.current === id;
      const next = !tier.restricted && tier.next?.tier === id;
      return html`<li class="tier${current ? ' current' : ''}${next ? ' next' : ''}"><header><span class="name">${tiers[id].name}</span>${
        current ? html`<span class="badge success">Current</span>` : next && html`<span class="badge">Next</span>`
      }</header><div class="small">${tiers[id].summary}</div><ul>${tiers[id].features.map((f) => html`<li>${f}</li>`)}</ul></li>`;
    })}</ul>
</section>`,
  });
}
