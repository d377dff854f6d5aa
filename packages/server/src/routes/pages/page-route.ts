import type { RouteDefinition } from '../route.ts';

/** Pages are hidden from the OpenAPI document; these fields only satisfy the route shape. */
export const pageRoute = {
  surface: 'pages',
  tag: 'Pages',
  hidden: true,
  errors: [],
  responses: { 200: { description: 'HTML page', contentType: 'text/html' } },
} as const satisfies Partial<RouteDefinition>;
