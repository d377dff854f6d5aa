import type { HandoffError } from '../../errors/catalogue.ts';
import { html } from '../html.ts';
import { layout } from '../layout.ts';

interface ErrorCopy {
  title: string;
  text: string;
}

function copyFor(error: HandoffError): ErrorCopy {
  switch (error.code) {
    case 'not_found':
    case 'ER903':
      return { title: 'Page not found', text: 'There is no page at this address. Check the link you followed.' };
    case 'rate_limited':
    case 'ER901':
      return {
        title: 'Too many attempts',
        text: `For your security, please wait ${error.retryAfter ?? 60} seconds before trying again.`,
      };
    case 'payload_too_large':
    case 'ER902':
      return {
        title: 'That was too much',
        text: 'The form you sent is larger than we accept. Shorten it and try again.',
      };
    case 'unsupported_media_type':
    case 'invalid_request':
    case 'ER900':
    case 'ER904':
      return { title: 'We could not read that', text: 'Go back, reload the page and send the form again.' };
    case 'unavailable':
    case 'ER950':
      return {
        title: 'Temporarily unavailable',
        text: 'We are having trouble right now. Please try again in a moment.',
      };
    default:
      return { title: 'Something went wrong', text: 'Please try again later. Nothing was changed by this attempt.' };
  }
}

/**
 * The HTML page for an error thrown while serving a page (errors/render.ts uses it for the `pages` surface):
 * the catalogue's status, words for people, and a request id to quote to support. Never a stack trace.
 */
export function errorPage(error: HandoffError, requestId: string): string {
  const copy = copyFor(error);
  return layout({
    title: copy.title,
    narrow: true,
    body: html`<section class="card problem danger" aria-labelledby="error-title">
<div class="icon" aria-hidden="true">!</div>
<h1 id="error-title">${copy.title}</h1>
<p>${copy.text}</p>
<p class="small reference">Reference for support: ${requestId}</p>
</section>`,
  }).value;
}
