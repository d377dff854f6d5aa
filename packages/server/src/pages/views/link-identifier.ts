import { type Html, html } from '../html.ts';
import { layout } from '../layout.ts';
import type { SignedInChrome } from './chrome.ts';
import { csrfField, initialOf, maskEmail } from './common.ts';

/** Step 1 of connecting a partner's identifier: the user proves the account with email and password. */
export function linkSignInView(view: {
  platform: string;
  request: string;
  csrf: string;
  email?: string | undefined;
  error?: string | undefined;
}): Html {
  return layout({
    title: 'Sign in to connect your account',
    brand: view.platform,
    narrow: true,
    body: html`<section class="card" aria-labelledby="title">
<p class="eyebrow">Connect your account</p>
<h1 id="title">Sign in to continue</h1>
<p class="lead">${view.platform} asks to connect to your account. Sign in with the email address and password of your ${view.platform} account.</p>
${view.error && html`<div class="notice danger" role="alert"><p>${view.error}</p></div>`}
<form method="post" action="/private/link-identifier/sign-in">
<input type="hidden" name="request" value="${view.request}">
${csrfField(view.csrf)}
<label for="email">Email address</label>
<input id="email" name="email" type="email" autocomplete="username" required value="${view.email ?? ''}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<div class="actions"><button class="button" type="submit">Sign in</button></div>
</form>
</section>`,
  });
}

/** Step 2: the signed-in user confirms; the identifier is linked only by this button's POST. */
export function linkConfirmView(
  chrome: SignedInChrome,
  view: { email: string | null; request: string; csrf: string; returnUrl: string },
): Html {
  const who = maskEmail(view.email);
  return layout({
    title: 'Connect your account',
    ...chrome,
    narrow: true,
    body: html`<section class="card" aria-labelledby="title">
<p class="eyebrow">Connect your account</p>
<h1 id="title">Connect ${chrome.brand} to ${view.email ? html`<span class="address">${who}?</span>` : 'your account?'}</h1>
<p class="lead">${chrome.brand} will recognise you as this account when you use its app. Only confirm if you started this from ${chrome.brand}.</p>
<div class="identity"><span class="avatar" aria-hidden="true">${initialOf(view.email)}</span>
<div><div class="email">${who}</div><div class="small">${chrome.brand} account</div></div></div>
<form method="post" action="/private/link-identifier/confirm">
<input type="hidden" name="request" value="${view.request}">
${csrfField(view.csrf)}
<div class="actions"><button class="button" type="submit">Connect account</button><a class="button secondary" href="${view.returnUrl}">Cancel</a></div>
</form>
</section>`,
  });
}
