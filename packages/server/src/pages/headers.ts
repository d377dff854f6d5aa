/**
 * The headers every hosted page carries, error pages and redirects included. Pages hold one-time tokens in
 * their URL or forms and personal data in their body: nothing may be cached, leak through a Referer, run as
 * script, or be framed.
 */
export function pageHeaders(options: { formTargets?: readonly string[] } = {}): Record<string, string> {
  // A form's POST that redirects is checked against form-action on the redirect target too (Chromium, Firefox),
  // so a page whose form ends on a partner's registered origin names that origin.
  const formAction = ["'self'", ...(options.formTargets ?? [])].join(' ');
  return {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
    'content-security-policy': `default-src 'none'; style-src 'self'; img-src 'self'; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`,
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'cross-origin-opener-policy': 'same-origin',
  };
}
