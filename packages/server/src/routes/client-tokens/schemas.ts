/**
 * Request and response schemas of the client-token surface: validation, types and the OpenAPI document.
 * They are the SDK's wire contract, so they live in `@handoff/sdk/contract` (the server depends on the SDK's
 * contract, never the reverse) and are re-exported here for the routes.
 */
export {
  ClientAuthTokenRequest,
  ClientAuthTokenResponse,
  ClientErrorResponse,
  IntrospectionResponse,
  stringEnum,
  TokenRequest,
  ValidationErrorResponse,
} from '@handoff/sdk/contract';
