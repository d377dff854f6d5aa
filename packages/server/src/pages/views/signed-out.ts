import { type Html, html } from '../html.ts';
import { layout } from '../layout.ts';

export function signedOutView(): Html {
  return layout({
    title: 'Signed out',
    narrow: true,
    body: html`<section class="card" aria-labelledby="title">
<h1 id="title">You are signed out</h1>
<p class="lead">Your session on this device has ended. You can close this page.</p>
<p>To come back, open your account page from the app or website you came from: it gives you a new sign-in link.</p>
</section>`,
  });
}
