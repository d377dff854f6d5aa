import { clientAuthTokenRoute } from './client-tokens/client-auth-token.ts';
import { introspectRoute } from './client-tokens/introspect.ts';
import { revokeAuthTokenRoute } from './client-tokens/revoke-auth-token.ts';
import { pageRoutes } from './pages/index.ts';
import { authenticateRoute, refreshRoute } from './partner-api/authenticate.ts';
import { registerIdentifierRoute } from './partner-api/identifiers.ts';
import { loginTokenRoute, loginWithTokenRoute } from './partner-api/login-tokens.ts';
import { systemInfoRoute } from './partner-api/system-info.ts';
import { createUserRoute, userLoginRoute, userLogoutRoute, userRefreshRoute } from './partner-api/users.ts';
import type { RouteDefinition } from './route.ts';
import { docsRoute } from './well-known/docs.ts';
import { healthzRoute, metricsRoute, readyzRoute } from './well-known/health.ts';
import { jwksRoute } from './well-known/jwks.ts';
import { openApiRoute } from './well-known/openapi.ts';

/** Every route of the service; app.ts registers these and the OpenAPI document describes exactly these. */
export const routes: readonly RouteDefinition[] = [
  clientAuthTokenRoute,
  revokeAuthTokenRoute,
  introspectRoute,
  authenticateRoute,
  refreshRoute,
  createUserRoute,
  userLoginRoute,
  userRefreshRoute,
  userLogoutRoute,
  registerIdentifierRoute,
  loginTokenRoute,
  loginWithTokenRoute,
  systemInfoRoute,
  jwksRoute,
  healthzRoute,
  readyzRoute,
  metricsRoute,
  openApiRoute,
  docsRoute,
  ...pageRoutes,
];
