import { Type } from '@sinclair/typebox';
import { publishedReference } from '../../openapi/published.ts';
import { referencePageHeaders } from '../../openapi/reference-page.ts';
import { defineRoute } from '../route.ts';

export const docsRoute = defineRoute({
  method: 'GET',
  url: '/docs',
  surface: 'public',
  summary: 'The API reference as a readable page, rendered from the OpenAPI document',
  tag: 'Reference',
  responses: { 200: { description: 'HTML page (no script)', contentType: 'text/html', schema: Type.String() } },
  errors: [],
  async handler(_request, reply, ctx) {
    const { html } = await publishedReference(ctx.config);
    return reply.headers(referencePageHeaders).send(html);
  },
});
