/** `@handoff/sdk`: clients for both Handoff surfaces, and the verifier for client access tokens. */
export {
  type ClientTokenClient,
  type ClientTokenClientOptions,
  createClientTokenClient,
} from './client-token-client.ts';
export type {
  ApiErrorEntry,
  ClientAuthTokenClaims,
  ClientAuthTokenPayload,
  ClientAuthTokenRequest,
  ClientAuthTokenResponse,
  CreateUserRequest,
  IntrospectionResponse,
  LoginTokenResponse,
  LoginWithTokenRequest,
  LoginWithTokenResponse,
  ParticipantStatus,
  PartnerApiErrorCode,
  Permission,
  PrivatePage,
  RegisterIdentifierRequest,
  RegisterIdentifierResponse,
  SystemInfo,
  TokenPair,
  User,
  UserLoginRequest,
  UserLoginResponse,
} from './contract/index.ts';
export { permissions } from './contract/permissions.ts';
export {
  HandoffApiError,
  HandoffClientError,
  HandoffRequestError,
  HandoffSdkError,
  HandoffTokenError,
  type RequestFailure,
  type TokenRejection,
} from './errors.ts';
export type { TransportOptions } from './http.ts';
export {
  createPartnerClient,
  type PartnerClient,
  type PartnerClientOptions,
  type PartnerCredentials,
  privatePageUrl,
  type UserAuthentication,
} from './partner-client.ts';
export {
  type ClientAuthTokenAlgorithm,
  clientAuthTokenAlgorithms,
  createClientAuthTokenVerifier,
  type RevocationCheck,
  type VerifyClientAuthTokenOptions,
  verifyClientAuthToken,
} from './verify-client-auth-token.ts';
