import { stylesheet, stylesheetPath } from '../../pages/styles.ts';
import { defineRoute } from '../route.ts';
import { pageRoute } from './page-route.ts';

export const stylesheetRoute = defineRoute({
  ...pageRoute,
  method: 'GET',
  url: stylesheetPath,
  summary: "The hosted pages' stylesheet",
  responses: { 200: { description: 'CSS', contentType: 'text/css' } },
  async handler(_request, reply) {
    return reply
      .headers({
        'content-type': 'text/css; charset=utf-8',
        // Pages link it with a content hash (?v=…), so a cached copy is never stale.
        'cache-control': 'public, max-age=31536000, immutable',
        'x-content-type-options': 'nosniff',
      })
      .send(stylesheet);
  },
});
