import { Type } from '@sinclair/typebox';
import { publishedReference } from '../../openapi/published.ts';
import { defineRoute } from '../route.ts';

export const openApiRoute = defineRoute({
  method: 'GET',
  url: '/openapi.json',
  surface: 'public',
  summary: 'This OpenAPI 3.1 document, generated from the route table',
  tag: 'Reference',
  responses: {
    200: {
      description: 'OpenAPI 3.1 document',
      schema: Type.Object({ openapi: Type.Literal('3.1.0') }, { additionalProperties: true }),
    },
  },
  errors: [],
  async handler(_request, reply, ctx) {
    const { json } = await publishedReference(ctx.config);
    return reply
      .header('content-type', 'application/json; charset=utf-8')
      .header('cache-control', 'public, max-age=300')
      .send(json);
  },
});
