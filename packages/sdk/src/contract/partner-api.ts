/**
 * The wire contract of the partner API (`/api/...`), as types. The server's TypeBox schemas are the source;
 * packages/sdk/test/contract.test.ts fails to type-check when these drift from them.
 */

export interface AuthenticateRequest {
  username: string;
  password: string;
}

export interface RefreshRequest {
  refreshToken: string;
}

/** A JWT (1 hour) and a one-time refresh token (30-day sliding lifetime, rotates on every use). */
export interface TokenPair {
  token: string;
  refreshToken: string;
}

export const participantStatuses = [
  'submitted',
  'pending_approval',
  'approved',
  'rejected',
  'locked',
  'pending_unlock',
  'pending_disable',
  'disabled',
  'divested',
  'closed',
] as const;
export type ParticipantStatus = (typeof participantStatuses)[number];

export interface CreateUserRequest {
  emailAddress: string;
  password?: string;
  firstName?: string;
  lastName?: string;
  /** E.164. */
  phoneNumber?: string;
}

export interface User {
  uuid: string;
  participantCode: string;
  emailAddress: string;
  status: ParticipantStatus;
}

export interface UserLoginRequest {
  emailAddress: string;
  password: string;
}

export interface UserLoginResponse extends TokenPair {
  /** The identifier linked to the user, if any. */
  identifier?: string;
}

export interface RegisterIdentifierRequest {
  /** 36–255 characters, A–Z a–z 0–9, unique across the system. */
  identifier: string;
  /** Where the hosted page sends the user back; its origin must be registered for the partner. */
  returnUrl: string;
}

export interface RegisterIdentifierResponse {
  redirectUrl: string;
}

export interface LoginTokenResponse {
  uuid: string;
  /** One-time, URL-safe. */
  token: string;
  /** UTC, `YYYY-MM-DDTHH:MM:SSZ`. */
  expiryDate: string;
}

export interface LoginWithTokenRequest {
  uuid: string;
  token: string;
}

export interface LoginWithTokenResponse extends TokenPair {
  uuid: string;
}

export type PrivatePage = 'kyc' | 'upgrade' | 'support';

export interface SystemInfo {
  urls: Record<string, string>;
  privateUrls: Record<PrivatePage, string>;
}

/** The catalogue codes the partner API answers with (contract codes and Handoff's own). */
export const partnerApiErrorCodes = [
  'ER333',
  'ER334',
  'ER335',
  'ER700',
  'ER701',
  'ER702',
  'ER703',
  'ER704',
  'ER705',
  'ER706',
  'ER707',
  'ER708',
  'ER709',
  'ER800',
  'ER801',
  'ER802',
  'ER803',
  'ER805',
  'ER806',
  'ER810',
  'ER811',
  'ER812',
  'ER813',
  'ER820',
  'ER821',
  'ER822',
  'ER900',
  'ER901',
  'ER902',
  'ER903',
  'ER904',
  'ER950',
  'ER999',
] as const;
export type PartnerApiErrorCode = (typeof partnerApiErrorCodes)[number];

export interface ApiErrorEntry {
  code: string;
  message: string;
  solution: string;
  /** ER999 only. */
  requestId?: string;
}

/** Every partner-API error: one entry per problem, keyed by its code. */
export interface ApiErrorResponse {
  errors: Record<string, ApiErrorEntry>;
}
