import { type Html, html } from './html.ts';
import { stylesheetPath, stylesheetVersion } from './styles.ts';

/** The signed-in pages, as the partner API's system info lists them (`privateUrls`). */
export const privatePages = {
  kyc: { title: 'Identity verification', tab: 'Verification' },
  upgrade: { title: 'Account tier', tab: 'Account tier' },
  support: { title: 'Support', tab: 'Support' },
} as const;
export type PrivatePage = keyof typeof privatePages;
export const privatePageNames = Object.keys(privatePages) as PrivatePage[];

export interface LayoutOptions {
  title: string;
  /** The partner's name when known: the user came from its app, so the page carries its name. */
  brand?: string | undefined;
  /** Present on signed-in pages: who is signed in, and the sign-out form's CSRF token. */
  account?: { who: string; signOutCsrf: string } | undefined;
  /** Signed-in account pages show the tabs, with this one marked current. */
  tab?: PrivatePage | undefined;
  /** Narrow single-card pages (confirmations, sign-in, problems). */
  narrow?: boolean;
  body: Html;
}

/** The one layout: header (brand, account, tabs), the page, a footer. No script anywhere. */
export function layout(options: LayoutOptions): Html {
  const brand = options.brand ?? 'Handoff';
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>${options.title} · ${brand}</title>
<link rel="stylesheet" href="${stylesheetPath}?v=${stylesheetVersion}">
</head>
<body${options.narrow ? html` class="narrow"` : ''}>
<header class="site-header">
<div class="bar">
<div class="brand"><span class="mark" aria-hidden="true">${brand.charAt(0).toUpperCase()}</span><span class="name">${brand}</span></div>
${
  options.account &&
  html`<div class="account"><span class="who">${options.account.who}</span>
<form method="post" action="/private/logout"><input type="hidden" name="csrf" value="${options.account.signOutCsrf}"><button class="link-button" type="submit">Sign out</button></form></div>`
}
</div>
${
  options.account &&
  options.tab &&
  html`<nav class="tabs" aria-label="Account">${privatePageNames.map(
    (page) =>
      html`<a href="/private/${page}"${options.tab === page ? html` aria-current="page"` : ''}>${privatePages[page].tab}</a>`,
  )}</nav>`
}
</header>
<main>
${options.body}
</main>
<footer class="site-footer">${options.brand ? `Secure pages provided for ${options.brand} by Handoff.` : 'Secure pages by Handoff.'}</footer>
</body>
</html>
`;
}
