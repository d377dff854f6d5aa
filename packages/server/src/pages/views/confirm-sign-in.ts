import { type Html, html } from '../html.ts';
import { layout, type PrivatePage, privatePages } from '../layout.ts';
import { csrfField, initialOf, maskEmail } from './common.ts';

const purposes: Record<PrivatePage, string> = {
  kyc: 'continue verifying your identity',
  upgrade: 'see your account tier and how to upgrade it',
  support: 'contact support',
};

/**
 * Shown on GET of a sign-in link. It spends nothing (mail scanners and link previews fetch links too): only the
 * button's POST, which a prefetch never sends, signs the user in.
 */
export function confirmSignInView(view: {
  page: PrivatePage;
  platform: string;
  email: string | null;
  token: string;
  uuid: string;
  csrf: string;
}): Html {
  const who = maskEmail(view.email);
  return layout({
    title: 'Confirm sign-in',
    brand: view.platform,
    narrow: true,
    body: html`<section class="card" aria-labelledby="title">
<p class="eyebrow">${privatePages[view.page].title}</p>
<h1 id="title">${view.email ? html`Continue as <span class="address">${who}</span>` : 'Continue to your account'}</h1>
<p class="lead">${view.platform} sent you here to ${purposes[view.page]}. Check that this is your account, then continue.</p>
<div class="identity"><span class="avatar" aria-hidden="true">${initialOf(view.email)}</span>
<div><div class="email">${who}</div><div class="small">${view.platform} account</div></div></div>
<form method="post" action="/private/${view.page}">
<input type="hidden" name="token" value="${view.token}">
<input type="hidden" name="uuid" value="${view.uuid}">
${csrfField(view.csrf)}
<div class="actions"><button class="button" type="submit">Continue</button></div>
</form>
<p class="small reference">Not you? Close this page. The link works once and only for a few minutes.</p>
</section>`,
  });
}
