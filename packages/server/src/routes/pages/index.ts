import type { RouteDefinition } from '../route.ts';
import { stylesheetRoute } from './assets.ts';
import { linkIdentifierConfirmRoute, linkIdentifierPageRoute, linkIdentifierSignInRoute } from './link-identifier.ts';
import { pagesNotFoundRoutes } from './not-found.ts';
import { privatePageRoutes } from './private-pages.ts';
import { signedOutRoute, signOutRoute } from './sign-out.ts';
import { postSupportMessageRoute } from './support.ts';

/** The hosted private pages under /private (server-rendered HTML; hidden from the OpenAPI document). */
export const pageRoutes: readonly RouteDefinition[] = [
  ...privatePageRoutes,
  postSupportMessageRoute,
  linkIdentifierPageRoute,
  linkIdentifierSignInRoute,
  linkIdentifierConfirmRoute,
  signOutRoute,
  signedOutRoute,
  stylesheetRoute,
  ...pagesNotFoundRoutes,
];
