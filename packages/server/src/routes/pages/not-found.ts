import { HandoffError } from '../../errors/catalogue.ts';
import { defineRoute } from '../route.ts';
import { pageRoute } from './page-route.ts';

/** Anything else under /private answers the pages' HTML 404 (with their headers), not another surface's JSON. */
export const pagesNotFoundRoutes = (['GET', 'POST'] as const).map((method) =>
  defineRoute({
    ...pageRoute,
    method,
    url: '/private/*',
    summary: 'Hosted pages: not found',
    async handler() {
      throw new HandoffError('not_found');
    },
  }),
);
