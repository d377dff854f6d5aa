import { authenticatePartner } from '../../auth/partner-auth.ts';
import { defineRoute } from '../route.ts';
import { errorResponses, partnerAuthErrors, SystemInfoResponse } from './schemas.ts';

export const systemInfoRoute = defineRoute({
  method: 'GET',
  url: '/api/v1/system/info',
  surface: 'partner-api',
  summary: "Handoff's URLs, including the hosted private pages to send users to with ?token=…&uuid=…",
  tag: 'System',
  security: 'partner',
  responses: { 200: { description: 'URLs', schema: SystemInfoResponse }, ...errorResponses },
  errors: partnerAuthErrors,
  async handler(request, reply, ctx) {
    await authenticatePartner(request, ctx);
    const at = (path: string) => new URL(path, ctx.config.publicUrl).toString();
    return reply.send({
      urls: { api: at('/api'), jwks: at('/.well-known/jwks.json'), openapi: at('/openapi.json'), docs: at('/docs') },
      privateUrls: { kyc: at('/private/kyc'), upgrade: at('/private/upgrade'), support: at('/private/support') },
    });
  },
});
