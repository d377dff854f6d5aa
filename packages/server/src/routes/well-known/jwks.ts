import { Type } from '@sinclair/typebox';
import { defineRoute } from '../route.ts';

export const jwksRoute = defineRoute({
  method: 'GET',
  url: '/.well-known/jwks.json',
  surface: 'public',
  summary: 'Public keys that verify Handoff tokens (published before they sign, kept until their tokens expire)',
  tag: 'Keys',
  responses: {
    200: {
      description: 'JWK Set',
      schema: Type.Object({ keys: Type.Array(Type.Object({ kid: Type.String(), alg: Type.String() })) }),
    },
  },
  errors: [],
  async handler(_request, reply, ctx) {
    // Short enough that a rotated key is seen well before it signs (HANDOFF_KEY_ACTIVATION_DELAY, default 600 s).
    return reply.header('cache-control', 'public, max-age=300, stale-while-revalidate=60').send(ctx.keyRing.jwks());
  },
});
