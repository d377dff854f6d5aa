import { type Html, html } from '../html.ts';

/**
 * `j…@example.com`: enough for the right person to recognise their account, little for anyone else who sees
 * the page (a shoulder, a screenshot, a link preview).
 */
export function maskEmail(email: string | null): string {
  if (!email) return 'your account';
  const at = email.lastIndexOf('@');
  if (at <= 0) return '…';
  return `${email.charAt(0)}…${email.slice(at)}`;
}

/** The avatar's letter: the masked email's first character. */
export const initialOf = (email: string | null): string => (email ? email.charAt(0).toUpperCase() : '?');

export const csrfField = (token: string): Html => html`<input type="hidden" name="csrf" value="${token}">`;

/** `23 Nov 2026, 12:00 UTC`: the server knows no time zone of the user's, so it says which one it uses. */
export function formatUtc(date: Date): string {
  const day = date.toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
  const time = date.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', timeZone: 'UTC' });
  return `${day}, ${time} UTC`;
}
